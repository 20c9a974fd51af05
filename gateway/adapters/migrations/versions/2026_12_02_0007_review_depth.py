"""Review depth: each task stores its SLA warning and due times, so timers survive restarts.

Revision ID: 0007_review_depth
Revises: 0006_checkpoints
Create Date: 2026-12-02

``warn_at`` and ``due_at`` are set when a task is created in a queue with an SLA (NULL
otherwise, and for every task made before this revision: they never time out, as before). The
timer reads tasks not done whose ``due_at`` has passed through the ``(state, due_at)`` index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_TS = sa.DateTime(timezone=True)

revision = "0007_review_depth"
down_revision = "0006_checkpoints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_tasks") as batch:
        batch.add_column(sa.Column("warn_at", _TS, nullable=True))
        batch.add_column(sa.Column("due_at", _TS, nullable=True))
    op.create_index("ix_review_tasks_state_due_at", "review_tasks", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_review_tasks_state_due_at", table_name="review_tasks")
    with op.batch_alter_table("review_tasks") as batch:
        batch.drop_column("due_at")
        batch.drop_column("warn_at")
