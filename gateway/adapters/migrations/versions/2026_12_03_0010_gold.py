"""Gold cases: known-answer cases injected into review queues to measure reviewers.

Revision ID: 0010_gold
Revises: 0009_contests
Create Date: 2026-12-03

``gold_cases`` holds what ``signoff gold add`` loaded: the input, the proposal (possibly
deliberately wrong) and the expected outcome. ``decisions.gold_case_id`` marks the decision a
gold case became when it was injected into a queue; NULL on every decision a caller asked for
(all rows before this revision). The column is added in place (no table rebuild, no trigger
change). A case is retired (``retired_at``, by whom and why), never deleted: the application
role may read, add and retire gold cases, so what a reviewer was measured against stays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_gold"
down_revision = "0009_contests"
branch_labels = None
depends_on = None

APP_ROLE = "signoff_app"


def upgrade() -> None:
    op.create_table(
        "gold_cases",
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("decision_type", sa.String(128), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("input_json", sa.Text, nullable=False),
        sa.Column("proposal_outcome", sa.String(128), nullable=False),
        sa.Column("proposal_confidence", sa.Float, nullable=False),
        sa.Column("proposal_scores_json", sa.Text, nullable=False),
        sa.Column("proposal_explanation", sa.Text, nullable=False),
        sa.Column("subject_ref", sa.String(256), nullable=False),
        sa.Column("expected", sa.String(128), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("loaded_by", sa.String(256), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(256), nullable=True),
        sa.Column("retire_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("case_id", name="pk_gold_cases"),
    )
    op.create_index("ix_gold_cases_decision_type", "gold_cases", ["decision_type"])
    op.add_column("decisions", sa.Column("gold_case_id", sa.String(64), nullable=True))
    op.create_index("ix_decisions_gold_case_id", "decisions", ["gold_case_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{APP_ROLE}') THEN
                GRANT SELECT, INSERT, UPDATE ON gold_cases TO {APP_ROLE};
            END IF;
        END $$""")


def downgrade() -> None:
    op.drop_index("ix_decisions_gold_case_id", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("gold_case_id")
    op.drop_index("ix_gold_cases_decision_type", table_name="gold_cases")
    op.drop_table("gold_cases")
