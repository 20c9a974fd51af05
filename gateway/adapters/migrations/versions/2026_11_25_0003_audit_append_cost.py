"""Cheaper audit appends: no unique index on ``hash``; on SQLite ``seq`` is the rowid.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Every event dirtied about seven B-trees; two were redundant:

- ``uq_audit_events_hash``: a hash is sha256 over the row's columns and its ``prev_hash``, and
  ``prev_hash`` stays unique (two writers racing on one head still fail loudly), so a second
  index keyed by a random value only cost a random leaf page per event. Dropped on every
  backend (PostgreSQL: plain ``ALTER TABLE``, so the table and the grants of 0002 stay).
- SQLite only: ``seq BIGINT PRIMARY KEY`` kept a separate index beside the table's own rowid
  B-tree. The table is rebuilt with ``seq INTEGER`` (Alembic batch mode), which makes ``seq``
  the rowid: one B-tree fewer per event, and the verifier reads the table in its own order.
  The rebuild drops the append-only triggers with the old table; they are created again here.

Same columns, same values, same hashes: nothing is rewritten but the SQLite file's layout.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
)


def _sqlite_rebuild(seq_type: sa.types.TypeEngine[int], *, hash_unique: bool) -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table("audit_events", recreate="always") as batch:
        batch.alter_column("seq", existing_nullable=False, type_=seq_type)
        if hash_unique:
            batch.create_unique_constraint("uq_audit_events_hash", ["hash"])
        else:
            batch.drop_constraint("uq_audit_events_hash", type_="unique")
    for ddl in _SQLITE_TRIGGERS:
        op.execute(ddl)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(sa.Integer(), hash_unique=False)
    else:
        op.drop_constraint("uq_audit_events_hash", "audit_events", type_="unique")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(sa.BigInteger(), hash_unique=True)
    else:
        op.create_unique_constraint("uq_audit_events_hash", "audit_events", ["hash"])
