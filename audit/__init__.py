"""The tamper-evident audit log: hash-chained events, verification, statistics and SQL storage.

A library that never imports ``gateway``: record, chain, verify and stats are pure; ``store``,
``parallel`` (verification in forked seq-range workers) and ``schema`` use SQLAlchemy Core and
only ever insert into the event table.
"""

from audit.chain import (
    chain,
    chain_hash,
    chain_with_times,
    event_hash,
    event_preimage,
    stored_preimage,
)
from audit.record import (
    GENESIS,
    Event,
    NewEvent,
    PolicyRecord,
    canonical_json,
    canonical_object,
    hashed_time,
    iso_utc,
)
from audit.schema import (
    NAMING_CONVENTION,
    UtcDateTime,
    audit_events,
    metadata,
    policy_versions,
)
from audit.stats import GroupStats, override_stats
from audit.store import CHAIN_LOCK_KEY, AuditLog, PolicyConflict
from audit.verify import STORED_COLUMNS, StoredRow, VerifyReport, verify, verify_stored

__all__ = [
    "CHAIN_LOCK_KEY",
    "GENESIS",
    "NAMING_CONVENTION",
    "STORED_COLUMNS",
    "AuditLog",
    "Event",
    "GroupStats",
    "NewEvent",
    "PolicyConflict",
    "PolicyRecord",
    "StoredRow",
    "UtcDateTime",
    "VerifyReport",
    "audit_events",
    "canonical_json",
    "canonical_object",
    "chain",
    "chain_hash",
    "chain_with_times",
    "event_hash",
    "event_preimage",
    "hashed_time",
    "iso_utc",
    "metadata",
    "override_stats",
    "policy_versions",
    "stored_preimage",
    "verify",
    "verify_stored",
]
