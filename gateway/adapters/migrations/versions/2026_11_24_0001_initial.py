"""Initial schema: audit log, policy texts, decisions, review tasks, append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written out in full (not generated from the live metadata) so that this revision keeps
creating exactly this schema whatever the tables become later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
)

_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$""",
    """CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()""",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()""",
)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", _TS, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("decision_type", sa.String(128), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.CHAR(64), nullable=False),
        sa.Column("hash", sa.CHAR(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_events"),
        sa.UniqueConstraint("prev_hash", name="uq_audit_events_prev_hash"),
        sa.UniqueConstraint("hash", name="uq_audit_events_hash"),
    )
    op.create_index("ix_audit_events_decision_id", "audit_events", ["decision_id"])
    op.create_index("ix_audit_events_decision_type_time", "audit_events", ["decision_type", "time"])
    op.create_index("ix_audit_events_type_time", "audit_events", ["type", "time"])
    op.create_index("ix_audit_events_time", "audit_events", ["time"])

    op.create_table(
        "policy_versions",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("decision_type", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("loaded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_policy_versions"),
    )

    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("request_digest", sa.String(80), nullable=False),
        sa.Column("decision_type", sa.String(128), nullable=False),
        sa.Column("subject_ref", sa.String(256), nullable=False),
        sa.Column("input_json", sa.Text(), nullable=False),
        sa.Column("proposal_outcome", sa.String(128), nullable=False),
        sa.Column("proposal_confidence", sa.Float(), nullable=False),
        sa.Column("proposal_scores_json", sa.Text(), nullable=False),
        sa.Column("proposal_model", sa.String(256), nullable=False),
        sa.Column("proposal_model_version", sa.String(128), nullable=False),
        sa.Column("proposal_explanation", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("route", sa.String(128), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(256), nullable=False),
        sa.Column("reasons_json", sa.Text(), nullable=False),
        sa.Column("policy_name", sa.String(128), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("policy_digest", sa.String(80), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("significant", sa.Boolean(), nullable=False),
        sa.Column("final_outcome", sa.String(128), nullable=False),
        sa.Column("final_payload_json", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=True),
        sa.Column("reviewer", sa.String(256), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("sample_probability", sa.Float(), nullable=False),
        sa.Column("correction_json", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
        sa.UniqueConstraint("request_id", name="uq_decisions_request_id"),
    )
    op.create_index("ix_decisions_decision_type_created_at", "decisions", ["decision_type", "created_at"])
    op.create_index("ix_decisions_subject_ref", "decisions", ["subject_ref"])
    op.create_index("ix_decisions_status", "decisions", ["status"])
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])

    op.create_table(
        "review_tasks",
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("claimed_by", sa.String(256), nullable=False),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("task_id", name="pk_review_tasks"),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.decision_id"],
            name="fk_review_tasks_decision_id_decisions",
        ),
    )
    op.create_index(
        "ix_review_tasks_queue_state_created_at",
        "review_tasks",
        ["queue", "state", "created_at"],
    )
    op.create_index("ix_review_tasks_decision_id", "review_tasks", ["decision_id"])
    op.create_index("ix_review_tasks_state_lease_expires_at", "review_tasks", ["state", "lease_expires_at"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)
    elif dialect == "postgresql":
        for ddl in _POSTGRES_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update_delete ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_refuse_change()")
    op.drop_table("review_tasks")
    op.drop_table("decisions")
    op.drop_table("policy_versions")
    op.drop_table("audit_events")
