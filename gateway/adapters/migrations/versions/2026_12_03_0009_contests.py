"""Contests: each decision keeps the history of its contests (GDPR Art. 22(3)).

Revision ID: 0009_contests
Revises: 0008_subject_keys
Create Date: 2026-12-03

``contests_json`` holds every contest filed against the decision (who filed it and when, the
statement, who may not hear it, the result), oldest first; ``[]`` for every decision before this
revision. Added in place (``ALTER TABLE ... ADD COLUMN`` with a constant default on both
backends), so the table and its triggers are not rebuilt.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_contests"
down_revision = "0008_subject_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("contests_json", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("contests_json")
