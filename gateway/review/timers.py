"""SLA timeouts: a task nobody decided by its stored due time is escalated, expired, or decided.

The use case reads the tasks whose ``due_at`` has passed and plans one Change per task. Every
Change is guarded on the task as read (state, claim, lease) and on the decision still being held,
so when two replicas fire the same timer, or a reviewer submits at the same moment, exactly one
Change applies and the others fail with ``Stale`` and write nothing. The clock is a port: tests
move a fake clock instead of sleeping.

- ``expire``: the decision becomes ``EXPIRED`` (final); Get/Watch/wait tell the caller.
- ``escalate``: the task is closed and a new one opens in the named queue, with that queue's SLA.
- ``decide``: the decision is finalized with the stated outcome (lint refuses an adverse one on a
  significant decision, and :func:`~gateway.review.sla.timeout_action` refuses it again).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from audit.record import NewEvent
from gateway.errors import Stale
from gateway.policy.model import Policy
from gateway.review.change import Change, Update
from gateway.review.events import HELD, event, held_update, new_task, task_guard
from gateway.review.model import Decision, Status, Task, TaskKind, TaskState
from gateway.review.ports import Clock, IdGenerator, PolicySource, Store
from gateway.review.rules import final_body
from gateway.review.sla import timeout_action

__all__ = ["TIMER", "fire_due", "fire_timeouts", "plan_timeout"]

TIMER = "gateway-timer"
"""The actor of every event a timeout writes."""


def plan_timeout(
    policy: Policy | None, task: Task, d: Decision, now: datetime, new_id: Callable[[], str]
) -> tuple[Change, str]:
    """The Change a due ``task`` gets, and the action taken (``expire``, ``escalate`` or ``decide``).

    Without a loaded policy for the decision type, or for an audit task, the action is
    ``expire`` for a review task and a plain close for an audit task: fail closed, never decide.
    """
    done = dataclasses.replace(task, state=TaskState.DONE)
    updates = [Update(done, task_guard(task), f"task {task.task_id} was decided or moved meanwhile")]
    inserts: list[Task] = []
    base = {
        "task_id": task.task_id,
        "queue": task.queue,
        "kind": task.kind.value,
        "due_at": task.due_at.isoformat() if task.due_at else "",
        "claimed_by": task.claimed_by,
    }
    if task.kind is TaskKind.AUDIT or d.status not in HELD:
        closed = (event(d, "timeout_action", TIMER, {**base, "action": "close"}, now),)
        return Change(updates=tuple(updates), events=closed), "close"
    action = timeout_action(policy, task.queue) if policy is not None else None
    kind = action.action if action is not None else "expire"
    events: list[NewEvent] = []
    if kind == "escalate" and action is not None and action.queue and policy is not None:
        target = policy.queues[action.queue]
        moved = new_task(d, action.queue, TaskKind.REVIEW, new_id(), sla=target.sla, created_at=now)
        inserts.append(moved)
        d = dataclasses.replace(d, status=Status.PENDING_REVIEW, queue=action.queue, route=action.queue)
        updates.append(held_update(d))
        events.append(
            event(
                d,
                "timeout_action",
                TIMER,
                {**base, "action": "escalate", "to_queue": action.queue, "new_task_id": moved.task_id},
                now,
            )
        )
    elif kind == "decide" and action is not None and action.outcome:
        d = dataclasses.replace(
            d, status=Status.AUTO_DECIDED, final_outcome=action.outcome, final_payload={}, action=None, decided_at=now
        )
        updates.append(held_update(d))
        events.append(event(d, "timeout_action", TIMER, {**base, "action": "decide", "outcome": action.outcome}, now))
        events.append(event(d, "decision_finalized", TIMER, final_body(d, by="timeout"), now))
    else:
        kind = "expire"
        d = dataclasses.replace(d, status=Status.EXPIRED, decided_at=now)
        updates.append(held_update(d))
        events.append(event(d, "timeout_action", TIMER, {**base, "action": "expire"}, now))
        events.append(event(d, "decision_finalized", TIMER, final_body(d, by="timeout"), now))
    return Change(inserts=tuple(inserts), updates=tuple(updates), events=tuple(events)), kind


async def fire_due(
    store: Store, policies: PolicySource, clock: Clock, ids: IdGenerator, limit: int = 100
) -> list[tuple[str, str]]:
    """Apply the timeout of every task due by now; ``(queue, action)`` for each one this call fired.

    A timer another replica (or a submit) got to first fails its guard with ``Stale`` and is
    skipped: it was fired, or decided, once already.
    """
    now = clock.now()
    due = await asyncio.to_thread(
        store.read, lambda tx: [(t, tx.decision(t.decision_id)) for t in tx.due_tasks(now, limit)]
    )
    fired: list[tuple[str, str]] = []
    for task, d in due:
        if d is None:
            continue
        change, action = plan_timeout(policies.get(d.decision_type), task, d, now, ids.new)
        try:
            await store.apply(change)
        except Stale:
            continue
        fired.append((task.queue, action))
    return fired


class _Wired(Protocol):
    """What :func:`fire_timeouts` needs of a ``ReviewService``."""

    store: Store
    policies: PolicySource
    clock: Clock
    ids: IdGenerator


async def fire_timeouts(service: _Wired, limit: int = 100) -> list[tuple[str, str]]:
    """:func:`fire_due` with the ports a ``ReviewService`` was built with."""
    return await fire_due(service.store, service.policies, service.clock, service.ids, limit)
