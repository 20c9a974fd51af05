"""In-memory fakes of the review ports: the use cases run against them without a database.

``FakeStore`` applies Changes with the same semantics as the SQL store (request keys, taken
keys, guarded updates, all or nothing, chained events); the store contract suite
(``tests/adapters/test_sql_store_contract.py``) runs against it too, so it cannot drift.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import enum
import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from audit import GENESIS, Event, chain
from gateway.errors import Conflict, Stale
from gateway.policy.model import Policy
from gateway.review.change import Applied, Change, Receipt, Update
from gateway.review.gold import StoredGold
from gateway.review.model import Decision, Task, TaskState
from gateway.review.ports import StoredPolicy

T = TypeVar("T")


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.t = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def advance(self, **kw: float) -> None:
        self.t += timedelta(**kw)


class CountingIds:
    """Predictable ids: d-1, d-2, ..."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def new(self) -> str:
        return f"id-{next(self._n)}"


class _NullListener:
    async def wait(self, timeout: float) -> bool:
        await asyncio.sleep(0)
        return False

    def close(self) -> None:
        return None


class NullNotifier:
    """Nobody is woken in unit tests: a waiter polls (each wait yields to the loop once)."""

    def notify(self, decision_ids: Iterable[str]) -> None:
        return None

    def listen(self, decision_id: str) -> _NullListener:
        return _NullListener()


class FakePolicies:
    """A fixed set of policies."""

    def __init__(self, *policies: Policy) -> None:
        self._by_type = {p.decision: p for p in policies}

    def get(self, decision_type: str) -> Policy | None:
        return self._by_type.get(decision_type)

    def all(self) -> list[Policy]:
        return list(self._by_type.values())


@dataclasses.dataclass
class _State:
    decisions: dict[str, Decision] = dataclasses.field(default_factory=dict)
    tasks: dict[str, Task] = dataclasses.field(default_factory=dict)
    policies: dict[tuple[str, int], StoredPolicy] = dataclasses.field(default_factory=dict)
    events: list[Event] = dataclasses.field(default_factory=list)
    gold: dict[str, StoredGold] = dataclasses.field(default_factory=dict)


def _claimable(t: Task, queue: str, now: datetime) -> bool:
    lapsed = t.state is TaskState.CLAIMED and t.lease_expires_at is not None and t.lease_expires_at < now
    return t.queue == queue and (t.state is TaskState.OPEN or lapsed)


class _Tx:
    """``ReadTx`` over the fake's state."""

    def __init__(self, state: _State) -> None:
        self.s = state

    def decision(self, decision_id: str) -> Decision | None:
        return self.s.decisions.get(decision_id)

    def decision_by_request(self, requested_by: str, request_id: str) -> Decision | None:
        return next(
            (d for d in self.s.decisions.values() if d.request_id == request_id and d.requested_by == requested_by),
            None,
        )

    def task(self, task_id: str) -> Task | None:
        return self.s.tasks.get(task_id)

    def gold_cases(self, decision_type: str) -> list[StoredGold]:
        live = (g for g in self.s.gold.values() if g.decision_type == decision_type and g.retired_at is None)
        return sorted(live, key=lambda g: g.case_id)

    def gold_case(self, case_id: str) -> StoredGold | None:
        return self.s.gold.get(case_id)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        return sorted(
            (t for t in self.s.tasks.values() if t.decision_id == decision_id), key=lambda t: (t.created_at, t.task_id)
        )

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        live = [t for t in self.s.tasks.values() if _claimable(t, queue, now)]
        return sorted(live, key=lambda t: (t.created_at, t.task_id))[:limit]

    def claimable(self, queue: str, now: datetime, claimer: str, limit: int) -> list[Task]:
        return [t for t in self.open_tasks(queue, now, len(self.s.tasks)) if t.requested_by != claimer][:limit]

    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        lapsed = [
            t
            for t in self.s.tasks.values()
            if t.state is TaskState.CLAIMED and t.lease_expires_at is not None and t.lease_expires_at < now
        ]
        return sorted(lapsed, key=lambda t: (t.lease_expires_at, t.task_id))[:limit]  # type: ignore[arg-type, return-value]

    def due_tasks(self, now: datetime, limit: int) -> list[Task]:
        due = [
            t
            for t in self.s.tasks.values()
            if t.state is not TaskState.DONE and t.due_at is not None and t.due_at <= now
        ]
        return sorted(due, key=lambda t: (t.due_at, t.task_id))[:limit]  # type: ignore[arg-type, return-value]

    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        out: dict[str, tuple[int, datetime | None]] = {}
        for t in self.s.tasks.values():
            if t.state is not TaskState.DONE:
                n, oldest = out.get(t.queue, (0, None))
                out[t.queue] = (n + 1, min(filter(None, (oldest, t.created_at))))
        return out

    def policy(self, name: str, version: int) -> StoredPolicy | None:
        return self.s.policies.get((name, version))

    def policies(self) -> list[StoredPolicy]:
        return sorted(self.s.policies.values(), key=lambda p: (p.ref.name, p.ref.version))


def _utc(record: Any) -> Any:
    """The record with every datetime field in UTC, as a SQL store reads it back."""
    changes = {}
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if isinstance(v, datetime):
            changes[f.name] = v.astimezone(UTC)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            changes[f.name] = _utc(v)
    return dataclasses.replace(record, **changes) if changes else record


def _matches(actual: Any, expected: Any) -> bool:
    options = expected if isinstance(expected, (tuple, frozenset, set)) else (expected,)
    return any(actual == v or (isinstance(v, enum.Enum) and actual == v.value) for v in options)


class FakeStore:
    """``Store`` in memory: each Change all or nothing on a copy of the state, like one
    transaction; events chained with the audit library's pure ``chain``."""

    def __init__(self) -> None:
        self.state = _State()
        self.applied = 0

    async def apply(self, change: Change) -> Applied:
        await asyncio.sleep(0)  # a real store answers later: let other tasks run meanwhile
        s = self.state
        if change.request_key is not None:
            prior = _Tx(s).decision_by_request(*change.request_key)
            if prior is not None:
                return Applied(prior=prior)
        draft = copy.copy(s)
        draft.decisions, draft.tasks, draft.policies = dict(s.decisions), dict(s.tasks), dict(s.policies)
        for record in change.inserts:
            self._insert(draft, record)
        for u in change.updates:
            self._update(draft, u)
        head_seq, head_hash = (s.events[-1].seq, s.events[-1].hash) if s.events else (0, GENESIS)
        chained = chain(change.events, head_seq, head_hash)
        draft.events = [*s.events, *chained]
        self.state = draft
        self.applied += 1
        return Applied(receipts=tuple(Receipt(e.seq, e.hash) for e in chained))

    @staticmethod
    def _insert(s: _State, record: Any) -> None:
        record = _utc(record)
        if isinstance(record, Decision):
            if record.decision_id in s.decisions or _Tx(s).decision_by_request(record.requested_by, record.request_id):
                raise Conflict(f"Decision {record.decision_id} is already stored")
            s.decisions[record.decision_id] = record
        elif isinstance(record, Task):
            if record.task_id in s.tasks:
                raise Conflict(f"Task {record.task_id} is already stored")
            s.tasks[record.task_id] = record
        elif isinstance(record, StoredPolicy):
            key = (record.ref.name, record.ref.version)
            if key in s.policies:
                raise Conflict(f"policy {record.ref.name!r} version {record.ref.version} is stored")
            s.policies[key] = record
        elif isinstance(record, StoredGold):
            if record.case_id in s.gold:
                raise Conflict(f"gold case {record.case_id} is already stored")
            s.gold[record.case_id] = record
        else:  # pragma: no cover - a record type the fake does not know yet
            raise TypeError(f"no table for {type(record).__name__}")

    @staticmethod
    def _update(s: _State, u: Update) -> None:
        table: dict[str, Any] = s.decisions if isinstance(u.record, Decision) else s.tasks
        key = u.record.decision_id if isinstance(u.record, Decision) else u.record.task_id
        stored = table.get(key)
        if stored is None or not all(_matches(getattr(stored, f), v) for f, v in u.expect.items()):
            raise Stale(u.stale)
        table[key] = _utc(u.record)

    def read(self, op: Callable[[_Tx], T]) -> T:
        return op(_Tx(copy.deepcopy(self.state)))

    @property
    def events(self) -> list[Event]:
        return self.state.events
