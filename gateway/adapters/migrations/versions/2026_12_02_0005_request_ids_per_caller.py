"""Idempotency keys per caller: ``UNIQUE(requested_by, request_id)`` replaces ``UNIQUE(request_id)``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A request id is the calling service's idempotency key. Shared across callers, one service
replaying another's id got the other's decision back (its input included), or an
``ALREADY_EXISTS`` that told it the id was taken and let it squat ids. Scoped to the
authenticated caller (``requested_by``), two callers' keys never meet. Existing rows keep
their values: each (caller, id) pair was unique already, since each id was.

On SQLite the table is rebuilt (Alembic batch mode); ``gateway.adapters.db.upgrade`` turns
foreign keys off around the migration's transaction, as SQLite's procedure for schema changes
says, and this migration checks them with ``PRAGMA foreign_key_check`` before it commits.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _check_foreign_keys() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        bad = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if bad:
            raise RuntimeError(f"foreign keys broken by the rebuild: {bad[:3]}")


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("uq_decisions_request_id", type_="unique")
        batch.create_unique_constraint("uq_decisions_requested_by_request_id", ["requested_by", "request_id"])
    _check_foreign_keys()


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_constraint("uq_decisions_requested_by_request_id", type_="unique")
        batch.create_unique_constraint("uq_decisions_request_id", ["request_id"])
    _check_foreign_keys()
