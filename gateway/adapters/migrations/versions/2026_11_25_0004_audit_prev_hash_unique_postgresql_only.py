"""Cheaper SQLite appends: ``UNIQUE(prev_hash)`` stays on PostgreSQL only.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

``uq_audit_events_prev_hash`` is a fork guard: two writers that read the same head would both
insert a row whose ``prev_hash`` is that head's hash, and the second would fail. On SQLite it
guards nothing the database does not already guarantee, and it was the costliest index left
(keyed by a random hash, so every event dirtied a random leaf page: about a fifth of an
append's time at 16,384 events per commit):

- Every append runs in ``BEGIN IMMEDIATE`` (``gateway.adapters.db.WRITE``), which takes the
  database's one write lock before the head is read; the head is read inside that lock, so no
  other writer, in this process or another, can append between the read and the commit.
- A writer that appended without it (a deferred ``BEGIN``) could not fork the chain either: in
  WAL mode its read snapshot cannot be upgraded to a write once another writer has committed
  (``SQLITE_BUSY_SNAPSHOT``), and it would insert ``seq = head + 1``, which the primary key
  already holds.

So on SQLite the table is rebuilt without the constraint (Alembic batch mode, as in 0003; the
rebuild drops the append-only triggers with the old table, and they are created again here).
PostgreSQL keeps it: there replicas append concurrently from several processes under a
transaction-scoped advisory lock (``audit.store.CHAIN_LOCK_KEY``), and ``UNIQUE(prev_hash)`` is
the second guard should a writer ever run outside that lock.

Same columns, same values, same hashes: nothing is rewritten but the SQLite file's layout. The
rebuild copies the table once (on a large log, run it in a maintenance window).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
)


def _sqlite_rebuild(*, prev_hash_unique: bool) -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table("audit_events", recreate="always") as batch:
        if prev_hash_unique:
            batch.create_unique_constraint("uq_audit_events_prev_hash", ["prev_hash"])
        else:
            batch.drop_constraint("uq_audit_events_prev_hash", type_="unique")
    for ddl in _SQLITE_TRIGGERS:
        op.execute(ddl)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(prev_hash_unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rebuild(prev_hash_unique=True)
