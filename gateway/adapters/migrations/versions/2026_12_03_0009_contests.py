"""Contests, four-eyes votes and blind-first review: a decision's contest history, a task's votes and blind state.

Revision ID: 0009_contests
Revises: 0008_subject_keys
Create Date: 2026-12-03

``contests_json`` holds every contest filed against the decision (who filed it and when, the
statement, who may not hear it, the result), oldest first; ``[]`` for every decision before this
revision. ``review_tasks.votes_json`` holds the four-eyes votes given on a task (reviewer,
outcome, the digest of what they signed, when); ``[]`` otherwise. ``blind``,
``blind_probability``, ``initial_outcome`` and ``revealed_at`` record a blind-first task's draw
and its holder's outcome before the reveal. Both are added in place (``ALTER TABLE ... ADD COLUMN`` with a constant default on both
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
    op.add_column("review_tasks", sa.Column("votes_json", sa.Text(), nullable=False, server_default="[]"))
    op.add_column("review_tasks", sa.Column("blind", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("review_tasks", sa.Column("blind_probability", sa.Float(), nullable=False, server_default="0"))
    op.add_column("review_tasks", sa.Column("initial_outcome", sa.Text(), nullable=False, server_default=""))
    op.add_column("review_tasks", sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_tasks") as batch:
        for column in ("revealed_at", "initial_outcome", "blind_probability", "blind", "votes_json"):
            batch.drop_column(column)
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("contests_json")
