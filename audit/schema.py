"""The audit tables as SQLAlchemy Core metadata, shared naming convention and UTC time type.

Importing this module defines tables only; it opens no connection.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from audit.record import Event, to_utc

__all__ = [
    "EVENT_COLUMNS",
    "NAMING_CONVENTION",
    "UtcDateTime",
    "audit_events",
    "checkpoints",
    "metadata",
    "policy_versions",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Deterministic constraint names, so migrations can name what they alter on every backend."""

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL stores ``timestamptz``. SQLite has no time type: SQLAlchemy stores fixed-width
    text (``YYYY-MM-DD HH:MM:SS.ffffff``), written here always in UTC, so text order is time
    order and values read back are given their UTC zone again. Naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = to_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=False, nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("type", String(64), nullable=False),
    Column("decision_id", String(64), nullable=False),
    Column("decision_type", String(128), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("policy_name", String(128), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("policy_digest", String(80), nullable=False),
    Column("body_json", Text, nullable=False),
    Column("prev_hash", CHAR(64), nullable=False),
    Column("hash", CHAR(64), nullable=False),
    PrimaryKeyConstraint("seq"),
    UniqueConstraint("prev_hash").ddl_if(dialect="postgresql"),
    Index(None, "decision_id"),
    Index(None, "decision_type", "time"),
    Index(None, "type", "time"),
    Index(None, "time"),
)
"""Append-only (triggers refuse UPDATE, DELETE and TRUNCATE). Each append reads the head and
inserts ``seq = head + 1`` under the chain lock (PostgreSQL: an advisory lock; SQLite: ``BEGIN
IMMEDIATE``), and ``seq`` is the primary key, so two writers racing on one head cannot both
commit. On PostgreSQL, where replicas append concurrently, ``prev_hash`` is also unique: a
second guard should the lock ever be bypassed. On SQLite the database lock admits one writer at
a time and the head is read inside it, so that index only cost a random B-tree leaf per event;
migration 0004 dropped it there. (``hash`` needs no index of its own: it is sha256 over the row
and its ``prev_hash``.) On SQLite ``seq`` is declared ``INTEGER`` so that it is the rowid: one
B-tree fewer per appended event."""

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("decision_type", String(128), nullable=False),
    Column("text", Text, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("name", "version"),
)
"""The full text of each policy version, stored once."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("kind", String(16), nullable=False),
    Column("seq", BigInteger().with_variant(Integer(), "sqlite"), autoincrement=False, nullable=False),
    Column("hash", CHAR(64), nullable=False),
    Column("time", String(32), nullable=False),
    Column("origin", String(128), nullable=False),
    Column("key_id", String(8), nullable=False),
    Column("note", Text, nullable=False),
    PrimaryKeyConstraint("kind", "seq"),
)
"""Signed checkpoints of the chain head, kept as their notes. ``kind`` is ``published`` (the
gateway's, also published outside the database) or ``verified`` (a head ``signoff audit verify``
walked to itself, where the next incremental walk starts). Append-only (triggers refuse UPDATE,
DELETE and TRUNCATE), and a trigger refuses a checkpoint at or behind the last of its kind.
The private key is never here: only the notes, which anyone may read."""


EVENT_COLUMNS = tuple(audit_events.c[f.name] for f in dataclasses.fields(Event))
"""The event table's columns in ``Event``'s field order: ``Event(*row)`` of a ``select(*EVENT_COLUMNS)``."""
