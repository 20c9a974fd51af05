"""Leases: claiming a task, releasing it, renewing it (a reviewer's heartbeat), as planned Changes.

Pure planning: the service reads the task (it must be the caller's, under a live lease) and this
module returns the Change. The update is guarded on the lease as read, so a renewal that races a
lapse-and-reclaim by another reviewer fails with ``Stale`` instead of stealing the task back.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from audit.record import NewEvent
from gateway.errors import InvalidRequest
from gateway.review.change import Change, Update
from gateway.review.contest import may_hear
from gateway.review.events import event, held_update, task_guard
from gateway.review.four_eyes import has_voted
from gateway.review.model import Decision, Principal, Status, Task, TaskKind, TaskState
from gateway.review.ports import ReadTx

__all__ = ["checked_lease", "claim_candidates", "plan_claim", "plan_release", "plan_renew"]


def plan_claim(
    principal: Principal, task: Task, d: Decision, now: datetime, lease: timedelta
) -> tuple[Change, Task, Decision]:
    """The Change leasing ``task`` (read as claimable: open, or under a lapsed lease) to the
    principal; taking over a lapsed lease records its release first."""
    events: list[NewEvent] = []
    if task.state is TaskState.CLAIMED:
        events.append(released_event(d, task, "gateway", "lease_expired", now))
    claimed = dataclasses.replace(
        task,
        state=TaskState.CLAIMED,
        claimed_by=principal.name,
        claimed_at=now,
        lease_expires_at=now + lease,
    )
    updates = [Update(claimed, task_guard(task), f"task {task.task_id} was claimed meanwhile")]
    if task.kind is TaskKind.REVIEW:
        d = dataclasses.replace(d, status=Status.IN_REVIEW)
        updates.append(held_update(d))
    body = {
        "task_id": task.task_id,
        "queue": task.queue,
        "kind": task.kind.value,
        "lease_expires_at": claimed.lease_expires_at.isoformat() if claimed.lease_expires_at else "",
    }
    events.append(event(d, "review_claimed", principal.name, body, now))
    return Change(updates=tuple(updates), events=tuple(events)), claimed, d


def plan_release(task: Task, d: Decision, actor: str, reason: str, now: datetime) -> tuple[Change, Task]:
    """The Change handing ``task`` (read as claimed) back to its queue."""
    released = dataclasses.replace(
        task,
        state=TaskState.OPEN,
        claimed_by="",
        claimed_at=None,
        lease_expires_at=None,
        initial_outcome="",  # a blind task stays blind for whoever claims it next
        revealed_at=None,
    )
    updates = [Update(released, task_guard(task), f"task {task.task_id} changed meanwhile")]
    if task.kind is TaskKind.REVIEW and d.status is Status.IN_REVIEW:
        d = dataclasses.replace(d, status=Status.PENDING_REVIEW)
        updates.append(Update(d, {"status": Status.IN_REVIEW}, f"decision {d.decision_id} changed meanwhile"))
    return Change(updates=tuple(updates), events=(released_event(d, task, actor, reason, now),)), released


def released_event(d: Decision, task: Task, actor: str, reason: str, now: datetime) -> NewEvent:
    """The ``review_released`` event of ``task``."""
    body = {"task_id": task.task_id, "queue": task.queue, "reason": reason, "claimed_by": task.claimed_by}
    return event(d, "review_released", actor, body, now)


def checked_lease(lease: timedelta, most: timedelta) -> timedelta:
    """``lease`` when it is positive and at most ``most``; else ``InvalidRequest`` naming the field."""
    if lease <= timedelta(0) or lease > most:
        raise InvalidRequest("lease", f"must be positive and at most {most}")
    return lease


def plan_renew(principal: Principal, task: Task, d: Decision, now: datetime, lease: timedelta) -> tuple[Change, Task]:
    """The Change moving the end of ``principal``'s live lease on ``task`` to ``now + lease``."""
    renewed = dataclasses.replace(task, lease_expires_at=now + lease)
    update = Update(renewed, task_guard(task), f"task {task.task_id} changed meanwhile; claim it again")
    body = {
        "task_id": task.task_id,
        "queue": task.queue,
        "previous_lease_expires_at": task.lease_expires_at.isoformat() if task.lease_expires_at else "",
        "lease_expires_at": (now + lease).isoformat(),
    }
    return Change(updates=(update,), events=(event(d, "lease_renewed", principal.name, body, now),)), renewed


def claim_candidates(tx: ReadTx, queue: str, now: datetime, claimer: str, limit: int) -> list[tuple[Task, Decision]]:
    """The oldest tasks of ``queue`` that ``claimer`` may claim now, with their decisions: not their
    own requests (the read), not a contest of a decision they decided, not a four-eyes task they
    already hold a vote on."""
    out = []
    for t in tx.claimable(queue, now, claimer, limit):
        d = tx.decision(t.decision_id)
        if d is None or (t.kind is TaskKind.CONTEST and not may_hear(claimer, d)):
            continue  # nobody who decided the original hears its contest
        if t.votes and has_voted(claimer, t):
            continue  # four-eyes: the next vote must be someone else's
        out.append((t, d))
    return out
