"""Signed checkpoints of the chain head, and append-only ``policy_versions`` on every backend.

Revision ID: 0006_checkpoints
Revises: 0005
Create Date: 2026-12-02

``checkpoints`` keeps each signed note (``audit.checkpoint``): the gateway's (``published``)
and the heads ``signoff audit verify`` walked itself (``verified``). Triggers refuse UPDATE,
DELETE and TRUNCATE, and an INSERT at or behind the last checkpoint of its kind, so a
checkpoint history only moves forward (an owner who drops the triggers and rolls it back is
caught against the copies published outside the database). ``policy_versions`` had no trigger
on SQLite and none on PostgreSQL (grants only, which the owner bypasses): both refuse UPDATE and
DELETE now, so an edited policy text needs a dropped trigger, and the digest check then catches it.
The application role may SELECT and INSERT checkpoints, nothing else.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_checkpoints"
down_revision = "0005"
branch_labels = None
depends_on = None

APP_ROLE = "signoff_app"

_SQLITE = (
    """CREATE TRIGGER checkpoints_no_going_back BEFORE INSERT ON checkpoints
    WHEN EXISTS (SELECT 1 FROM checkpoints WHERE kind = NEW.kind AND seq >= NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'checkpoints: a checkpoint at or behind the last one is refused'); END""",
    """CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END""",
    """CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END""",
    """CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
    BEGIN SELECT RAISE(ABORT, 'policy_versions is append-only'); END""",
    """CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
    BEGIN SELECT RAISE(ABORT, 'policy_versions is append-only'); END""",
)

_POSTGRES = (
    """CREATE FUNCTION signoff_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$""",
    """CREATE FUNCTION checkpoints_refuse_going_back() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM checkpoints WHERE kind = NEW.kind AND seq >= NEW.seq) THEN
            RAISE EXCEPTION 'checkpoints: seq % is at or behind the last % checkpoint', NEW.seq, NEW.kind
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END
    $$""",
    """CREATE TRIGGER checkpoints_no_going_back BEFORE INSERT ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION checkpoints_refuse_going_back()""",
    *(
        stmt
        for table in ("checkpoints", "policy_versions")
        for stmt in (
            f"""CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION signoff_refuse_change()""",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION signoff_refuse_change()""",
        )
    ),
)


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("hash", sa.CHAR(64), nullable=False),
        sa.Column("time", sa.String(32), nullable=False),
        sa.Column("origin", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("kind", "seq", name="pk_checkpoints"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for ddl in _SQLITE:
            op.execute(ddl)
    elif bind.dialect.name == "postgresql":
        for ddl in _POSTGRES:
            op.execute(ddl)
        op.execute(f"""DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT SELECT, INSERT ON checkpoints TO {APP_ROLE};
            END IF;
        END $$""")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("policy_versions_no_update", "policy_versions_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS policy_versions_no_update_delete ON policy_versions")
        op.execute("DROP TRIGGER IF EXISTS policy_versions_no_truncate ON policy_versions")
    op.drop_table("checkpoints")
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS checkpoints_refuse_going_back()")
        op.execute("DROP FUNCTION IF EXISTS signoff_refuse_change()")
