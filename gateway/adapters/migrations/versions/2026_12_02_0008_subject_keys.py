"""Personal data under per-subject keys: the keys, and legal holds on erasure.

Revision ID: 0008_subject_keys
Revises: 0007_review_depth
Create Date: 2026-12-02

``subject_keys`` holds one AES-256-GCM key per (subject, key id): the personal fields of a
decision about a subject are sealed under it, and the hash chain covers only the ciphertext.
Erasure sets ``key`` to NULL (crypto-shredding): the sealed fields can never be opened again,
the chain still verifies. ``subject_holds`` is a legal hold (GDPR Art. 17(3)) that makes
erasure refuse. The application role may read, add and update keys (erasure is an update),
never delete rows: what was erased, when and why stays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_subject_keys"
down_revision = "0007_review_depth"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
APP_ROLE = "signoff_app"


def upgrade() -> None:
    op.create_table(
        "subject_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("subject_ref", sa.String(256), nullable=False),
        sa.Column("key", sa.LargeBinary, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("erased_at", _TS, nullable=True),
        sa.Column("erase_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_subject_keys"),
    )
    op.create_index("ix_subject_keys_subject_ref", "subject_keys", ["subject_ref"])
    op.create_table(
        "subject_holds",
        sa.Column("subject_ref", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("held_at", _TS, nullable=False),
        sa.Column("held_by", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("subject_ref", name="pk_subject_holds"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT SELECT, INSERT, UPDATE ON subject_keys TO {APP_ROLE};
                GRANT SELECT, INSERT, DELETE ON subject_holds TO {APP_ROLE};
            END IF;
        END $$""")


def downgrade() -> None:
    op.drop_table("subject_holds")
    op.drop_index("ix_subject_keys_subject_ref", table_name="subject_keys")
    op.drop_table("subject_keys")
