"""Ports the review use cases depend on; adapters implement them, tests use in-memory fakes.

Every write goes through ``Store.write``: the operation runs inside one transaction of the
group-commit writer, and ``write`` returns only when that transaction is durable, so nothing
is acknowledged that is not in the audit log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from gateway.policy.model import Policy, PolicyRef
from gateway.review.model import Decision, EventDraft, Task

__all__ = [
    "Clock",
    "IdGenerator",
    "Notifier",
    "PolicySource",
    "ReadTx",
    "Store",
    "StoredPolicy",
    "WriteTx",
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
    def decision_by_request(self, request_id: str) -> Decision | None: ...
    def task(self, task_id: str) -> Task | None: ...
    def tasks_for_decision(self, decision_id: str) -> list[Task]: ...
    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        """Tasks in ``queue`` not done and not under a live lease, oldest first."""
        ...
    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        """Per queue: tasks not done, and the creation time of the oldest."""
        ...
    def policy(self, name: str, version: int) -> StoredPolicy | None: ...
    def policies(self) -> list[StoredPolicy]: ...


class WriteTx(ReadTx, Protocol):
    """Writes inside the one transaction of a group-commit batch."""

    def insert_decision(self, decision: Decision) -> None: ...
    def update_decision(self, decision: Decision) -> None: ...
    def insert_task(self, task: Task) -> None: ...
    def update_task(self, task: Task) -> None: ...
    def claim_next(
        self, queue: str, now: datetime, lease_until: datetime, claimer: str
    ) -> Task | None:
        """Lease the oldest claimable task in ``queue`` to ``claimer`` and return it.

        Claimable: open, or claimed with a lease that ended before ``now``; never a task
        whose decision ``claimer`` requested (separation of duties). Uses
        ``FOR UPDATE SKIP LOCKED`` where the database has it.
        """
        ...
    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        """Claimed tasks whose lease ended before ``now``."""
        ...
    def store_policy(self, policy: StoredPolicy) -> bool:
        """Store a policy version's text once; True if it was new.

        Raises ``gateway.errors.Conflict`` when the same name and version is stored with a
        different digest.
        """
        ...
    def append(self, event: EventDraft) -> None:
        """Queue an audit event; it is chained and inserted when the batch commits."""
        ...


class Store(Protocol):
    """The unit of work: durable writes in group-committed batches, and reads."""

    def write(self, op: Callable[[WriteTx], T]) -> T:
        """Run ``op`` in a write transaction and return its result once the batch is durable.

        If ``op`` raises, its writes and events are discarded and the error re-raised; the
        rest of the batch commits. If the commit fails, raises ``StoreUnavailable``.
        """
        ...

    def write_async(self, op: Callable[[WriteTx], T]) -> Awaitable[T]:
        """``write`` for an event loop: an awaitable of the result, settled once durable."""
        ...

    def read(self, op: Callable[[ReadTx], T]) -> T:
        """Run ``op`` against a read snapshot."""
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


class Notifier(Protocol):
    """Wakes watchers of a decision when it changes in this process."""

    def notify(self, decision_ids: Iterable[str]) -> None: ...
    def wait(self, decision_id: str, timeout: float) -> bool: ...


