"""Ports the review use cases depend on; adapters implement them, tests use in-memory fakes.

Every write is a ``Change`` (plain data) that ``Store.apply`` applies inside one transaction
of the group-commit writer; it settles only when that transaction is durable, so nothing is
acknowledged that is not in the audit log. No domain code runs inside the writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

from gateway.policy.model import Policy, PolicyRef
from gateway.review.change import Applied, Change
from gateway.review.model import Decision, Task

if TYPE_CHECKING:
    from gateway.review.gold import StoredGold

__all__ = [
    "Clock",
    "IdGenerator",
    "Listener",
    "Notifier",
    "PolicySource",
    "ReadTx",
    "Store",
    "StoredPolicy",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One policy version's full text as stored once in the database."""

    ref: PolicyRef
    decision_type: str
    text: str
    loaded_at: datetime


class ReadTx(Protocol):
    """Reads inside one consistent snapshot."""

    def decision(self, decision_id: str) -> Decision | None: ...
    def decision_by_request(self, requested_by: str, request_id: str) -> Decision | None:
        """The decision ``requested_by`` asked for under ``request_id`` (keys are per caller)."""
        ...

    def task(self, task_id: str) -> Task | None: ...
    def tasks_for_decision(self, decision_id: str) -> list[Task]: ...
    def gold_cases(self, decision_type: str) -> list[StoredGold]:
        """The loaded gold cases of ``decision_type`` not retired, by case id."""
        ...

    def gold_case(self, case_id: str) -> StoredGold | None: ...
    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        """Tasks in ``queue`` not done and not under a live lease, oldest first."""
        ...

    def claimable(self, queue: str, now: datetime, claimer: str, limit: int) -> list[Task]:
        """Tasks ``claimer`` may claim in ``queue``, oldest first: open, or claimed under a
        lease that ended before ``now``; never one whose decision ``claimer`` requested."""
        ...

    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        """Claimed tasks whose lease ended before ``now``."""
        ...

    def due_tasks(self, now: datetime, limit: int) -> list[Task]:
        """Tasks not done whose SLA due time is at or before ``now``, earliest due first."""
        ...

    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        """Per queue: tasks not done, and the creation time of the oldest."""
        ...

    def policy(self, name: str, version: int) -> StoredPolicy | None: ...
    def policies(self) -> list[StoredPolicy]: ...


class Store(Protocol):
    """The unit of work: Changes applied in group-committed batches, and snapshot reads."""

    def apply(self, change: Change) -> Awaitable[Applied]:
        """Apply ``change`` all or nothing in the next batch; settle once the batch is durable.

        A guard that no longer holds fails only this Change (``PreconditionFailed``), a key
        already taken ``Conflict``; the rest of the batch commits. If the commit fails, every
        Change of the batch fails with ``StoreUnavailable``. Call it on an event loop.
        """
        ...

    def read(self, op: Callable[[ReadTx], T]) -> T:
        """Run ``op`` against a read snapshot (blocking: use cases run it off the loop)."""
        ...


class PolicySource(Protocol):
    """The currently loaded policies, by decision type (reload swaps them atomically)."""

    def get(self, decision_type: str) -> Policy | None: ...
    def all(self) -> Sequence[Policy]: ...


class Clock(Protocol):
    """Where time comes from (a fake clock in tests makes leases expire on demand)."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New unique ids for decisions and tasks."""

    def new(self) -> str: ...


class Listener(Protocol):
    """One waiter's interest in one decision."""

    async def wait(self, timeout: float) -> bool:
        """Wait on the event loop until the decision changed since the last wait, or
        ``timeout`` passes; True if it changed."""
        ...

    def close(self) -> None: ...


class Notifier(Protocol):
    """Wakes watchers of a decision when it changes (here, or on another replica)."""

    def notify(self, decision_ids: Iterable[str]) -> None:
        """Signal that these decisions changed; callable from any thread."""
        ...

    def listen(self, decision_id: str) -> Listener:
        """Register interest before reading, so no change is missed between read and wait."""
        ...
