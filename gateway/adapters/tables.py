"""The gateway's state tables (decisions, review tasks); unlike the audit log they are updated.

They live on their own ``MetaData`` with the audit library's naming convention: the library
stays ignorant of the gateway, and the one Alembic migration creates both sets of tables.
JSON-valued fields are stored as canonical JSON text, so both backends hold the same bytes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    select,
)

from audit.schema import NAMING_CONVENTION, UtcDateTime

__all__ = ["decision_log", "decisions", "gold_cases", "metadata", "review_tasks", "subject_holds", "subject_keys"]

metadata = MetaData(naming_convention=NAMING_CONVENTION)

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(64), nullable=False),
    Column("request_id", String(256), nullable=False),
    Column("request_digest", String(80), nullable=False),
    Column("decision_type", String(128), nullable=False),
    Column("subject_ref", String(256), nullable=False),
    Column("input_json", Text, nullable=False),
    Column("proposal_outcome", String(128), nullable=False),
    Column("proposal_confidence", Float, nullable=False),
    Column("proposal_scores_json", Text, nullable=False),
    Column("proposal_model", String(256), nullable=False),
    Column("proposal_model_version", String(128), nullable=False),
    Column("proposal_explanation", Text, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("status", String(32), nullable=False),
    Column("route", String(128), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("rule", String(256), nullable=False),
    Column("reasons_json", Text, nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("policy_digest", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("significant", Boolean, nullable=False),
    Column("final_outcome", String(128), nullable=False),
    Column("final_payload_json", Text, nullable=False),
    Column("action", String(16), nullable=True),
    Column("reviewer", String(256), nullable=False),
    Column("review_reason", Text, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("sampled", Boolean, nullable=False),
    Column("sample_probability", Float, nullable=False),
    Column("correction_json", Text, nullable=True),
    Column("contests_json", Text, nullable=False, server_default="[]"),
    Column("gold_case_id", String(64), nullable=True),
    PrimaryKeyConstraint("decision_id"),
    UniqueConstraint("requested_by", "request_id"),  # idempotency keys are per caller (0005)
    Index(None, "decision_type", "created_at"),
    Index(None, "subject_ref"),
    Index(None, "status"),
    Index(None, "created_at"),
    # The decision-log filters (migration 0002); each ends in created_at, the page order.
    Index(None, "policy_name", "policy_version", "created_at"),
    Index(None, "queue", "created_at"),
    Index(None, "reviewer", "created_at"),
    Index(None, "gold_case_id"),
)
"""One row per decision, its current state; its history is in ``audit_events``. A row with a
``gold_case_id`` is a gold case injected into a queue (migration 0010): no caller asked for it."""

decision_log = select(decisions).where(decisions.c.gold_case_id.is_(None)).subquery("decision_log")
"""The decisions callers asked for: ``decisions`` without the injected gold cases. Every
statistic, export, replay, calibration and query reads this (SQLite and PostgreSQL flatten
it into the outer query, so the table's indexes serve it); only the review path and the
writer see gold rows."""

review_tasks = Table(
    "review_tasks",
    metadata,
    Column("task_id", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("requested_by", String(256), nullable=False),
    Column("claimed_by", String(256), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("warn_at", UtcDateTime, nullable=True),
    Column("due_at", UtcDateTime, nullable=True),
    Column("votes_json", Text, nullable=False, server_default="[]"),
    Column("blind", Boolean, nullable=False, server_default=false()),
    Column("blind_probability", Float, nullable=False, server_default="0"),
    Column("initial_outcome", Text, nullable=False, server_default=""),
    Column("revealed_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("task_id"),
    ForeignKeyConstraint(["decision_id"], ["decisions.decision_id"]),
    Index(None, "queue", "state", "created_at"),
    Index(None, "decision_id"),
    Index(None, "state", "lease_expires_at"),
    Index(None, "state", "due_at"),
)
"""Held decisions awaiting a human: open, claimed under a lease, or done."""


subject_keys = Table(
    "subject_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("subject_ref", String(256), nullable=False, index=True),
    Column("key", LargeBinary, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("erased_at", UtcDateTime, nullable=True),
    Column("erase_reason", Text, nullable=True),
)
"""Per-subject AES-GCM keys (migration 0008); erasure sets ``key`` to NULL."""

subject_holds = Table(
    "subject_holds",
    metadata,
    Column("subject_ref", String(256), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("held_at", UtcDateTime, nullable=False),
    Column("held_by", String(256), nullable=False),
)
"""Legal holds (GDPR Art. 17(3)): a subject here cannot be erased."""

gold_cases = Table(
    "gold_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("decision_type", String(128), nullable=False, index=True),
    Column("name", Text, nullable=False),
    Column("input_json", Text, nullable=False),
    Column("proposal_outcome", String(128), nullable=False),
    Column("proposal_confidence", Float, nullable=False),
    Column("proposal_scores_json", Text, nullable=False),
    Column("proposal_explanation", Text, nullable=False),
    Column("subject_ref", String(256), nullable=False),
    Column("expected", String(128), nullable=False),
    Column("source", Text, nullable=False),
    Column("loaded_by", String(256), nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
    Column("retired_by", String(256), nullable=True),
    Column("retire_reason", Text, nullable=True),
)
"""Known-answer cases (``signoff gold add``, migration 0010): injected into queues at their
``gold_rate`` to measure reviewers until retired (``signoff gold retire``); never deleted."""
