"""In-memory fakes of the review ports: the use cases run against them without a database."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from gateway.errors import Conflict
from gateway.policy.model import Policy
from gateway.review.model import Decision, EventDraft, Task, TaskState
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


class NullNotifier:
    """Nobody is waiting in unit tests."""

    def notify(self, decision_ids: Iterable[str]) -> None:
        return None

    def wait(self, decision_id: str, timeout: float) -> bool:
        return False


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
    events: list[EventDraft] = dataclasses.field(default_factory=list)


class _Tx:
    def __init__(self, state: _State) -> None:
        self.s = state

    def decision(self, decision_id: str) -> Decision | None:
        return self.s.decisions.get(decision_id)

    def decision_by_request(self, request_id: str) -> Decision | None:
        return next((d for d in self.s.decisions.values() if d.request_id == request_id), None)

    def task(self, task_id: str) -> Task | None:
        return self.s.tasks.get(task_id)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        return [t for t in self.s.tasks.values() if t.decision_id == decision_id]

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        live = [t for t in self.s.tasks.values() if t.queue == queue and t.state is not TaskState.DONE]
        return sorted(live, key=lambda t: t.created_at)[:limit]

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
        return list(self.s.policies.values())

    def insert_decision(self, decision: Decision) -> None:
        self.s.decisions[decision.decision_id] = decision

    def update_decision(self, decision: Decision) -> None:
        self.s.decisions[decision.decision_id] = decision

    def insert_task(self, task: Task) -> None:
        self.s.tasks[task.task_id] = task

    def update_task(self, task: Task) -> None:
        self.s.tasks[task.task_id] = task

    def claim_next(self, queue: str, now: datetime, lease_until: datetime, claimer: str) -> Task | None:
        for t in sorted(self.s.tasks.values(), key=lambda t: t.created_at):
            lapsed = t.state is TaskState.CLAIMED and t.lease_expires_at is not None and t.lease_expires_at <= now
            if t.queue == queue and (t.state is TaskState.OPEN or lapsed) and t.requested_by != claimer:
                claimed = dataclasses.replace(t, state=TaskState.CLAIMED, claimed_by=claimer, claimed_at=now,
                                              lease_expires_at=lease_until)
                self.s.tasks[t.task_id] = claimed
                return claimed
        return None

    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        return [t for t in self.s.tasks.values() if t.state is TaskState.CLAIMED
                and t.lease_expires_at is not None and t.lease_expires_at <= now][:limit]

    def store_policy(self, policy: StoredPolicy) -> bool:
        key = (policy.ref.name, policy.ref.version)
        old = self.s.policies.get(key)
        if old is not None:
            if old.ref.digest != policy.ref.digest:
                raise Conflict("same version, other content")
            return False
        self.s.policies[key] = policy
        return True

    def append(self, event: EventDraft) -> None:
        self.s.events.append(event)


class FakeStore:
    """All-or-nothing writes on a copy of the state, like one transaction."""

    def __init__(self) -> None:
        self.state = _State()

    def write(self, op: Callable[[_Tx], T]) -> T:
        draft = copy.deepcopy(self.state)
        result = op(_Tx(draft))
        self.state = draft
        return result

    async def write_async(self, op: Callable[[_Tx], T]) -> T:
        return self.write(op)

    def read(self, op: Callable[[_Tx], T]) -> T:
        return op(_Tx(self.state))

    @property
    def events(self) -> list[EventDraft]:
        return self.state.events
