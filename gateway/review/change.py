"""A Change: what a use case decided to write, as plain data the store applies in one batch.

A use case reads what it needs, checks it, and returns a ``Change``; it never runs inside the
store. The store applies each Change all or nothing, group-committed with others, and answers
only once the batch is durable. Because a Change is data, nothing of the domain runs on the
writer, and the writer can sit wherever the profile says (a thread today).

- ``inserts``: new records (``Decision``, ``Task``, ``StoredPolicy``). A key already taken
  fails the Change with ``Conflict``.
- ``updates``: guarded updates. Each writes its record over the stored row with the same key
  iff that row still holds the values ``expect`` names; otherwise the Change fails alone with
  ``PreconditionFailed(stale)``, so two replicas racing for one task cannot both win.
- ``events``: audit events already in the log's form (``audit.NewEvent``, canonical
  ``body_json``, ``decision_type``); the writer only chains and inserts them.
- ``request_key``: for an idempotent Decide, ``(requested_by, request_id)``. When a decision
  is already stored under that key, nothing is written and ``Applied.prior`` holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.record import NewEvent
from gateway.review.model import Decision, Task

__all__ = ["Applied", "Change", "Receipt", "Record", "Update"]

Record = Decision | Task | Any
"""A record a Change inserts or updates: a ``Decision``, a ``Task``, a ``StoredPolicy``."""


@dataclass(frozen=True, slots=True)
class Update:
    """Write ``record`` over its stored row iff that row still holds ``expect``.

    ``expect`` maps a field of the record to the value it must still have; a tuple or a
    frozenset means "one of these"; ``None`` means "unset".
    """

    record: Record
    expect: Mapping[str, Any]
    stale: str
    """The message of the ``PreconditionFailed`` raised when the guard does not hold."""


@dataclass(frozen=True, slots=True)
class Change:
    """Records to insert, guarded updates, and audit events: applied all or nothing."""

    inserts: tuple[Record, ...] = ()
    updates: tuple[Update, ...] = ()
    events: tuple[NewEvent, ...] = ()
    request_key: tuple[str, str] | None = None

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.events)


@dataclass(frozen=True, slots=True)
class Receipt:
    """Where one of the Change's events sits in the hash chain."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a Change gave: the receipts of its events, or the decision it found."""

    receipts: tuple[Receipt, ...] = ()
    prior: Decision | None = None
    """The decision already stored under the Change's ``request_key`` (nothing was written)."""
