"""The audit events and records the use cases write, built on the event loop as plain data.

Every event body is canonical JSON already (``audit.record.canonical_json``), and carries its
decision type, so the store's writer only chains and inserts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from audit.record import NewEvent, canonical_json, canonical_object
from gateway.policy.model import Policy, Sla
from gateway.review.blind import blind_draw, drawn_blind
from gateway.review.change import Update
from gateway.review.model import Decision, Status, Task, TaskKind, TaskState
from gateway.review.rules import decision_body, final_body
from gateway.review.sla import deadline

__all__ = ["HELD", "decision_records", "event", "held_update", "new_task", "review_task", "routed_body", "task_guard"]

HELD = frozenset({Status.PENDING_REVIEW, Status.IN_REVIEW})
"""The statuses of a decision that still waits for a human."""


def event(d: Decision, type_: str, actor: str, body: dict[str, Any], now: datetime) -> NewEvent:
    """An audit event about ``d``, its body canonical JSON already (made on the loop)."""
    full = {"decision_type": d.decision_type, **body}
    return NewEvent(
        type=type_,
        time=now,
        actor=actor,
        decision_id=d.decision_id,
        policy_name=d.policy_name,
        policy_version=d.policy_version,
        policy_digest=d.policy_digest,
        body=full,
        decision_type=d.decision_type,
        body_json=canonical_json(full),
    )


def task_guard(t: Task) -> dict[str, Any]:
    """What a task must still be for a change planned from this read of it to apply."""
    return {"state": t.state, "claimed_by": t.claimed_by, "lease_expires_at": t.lease_expires_at}


def held_update(d: Decision) -> Update:
    """The update writing ``d``, guarded on the stored decision still waiting for a human."""
    return Update(d, {"status": HELD}, f"decision {d.decision_id} is no longer held")


def decision_records(
    d: Decision, policy: Policy, input_json: str, new_id: Callable[[], str]
) -> tuple[Task | None, tuple[NewEvent, ...]]:
    """The task (if any) and the audit events that record a new decision ``d``."""
    now = d.created_at
    received = {"decision_type": d.decision_type, **decision_body(d)}
    events = [
        NewEvent(
            type="decision_received",
            time=now,
            actor=d.requested_by,
            decision_id=d.decision_id,
            policy_name=d.policy_name,
            policy_version=d.policy_version,
            policy_digest=d.policy_digest,
            body=received,
            decision_type=d.decision_type,
            body_json=canonical_object(received, {"input": input_json}),
        )
    ]
    events.append(event(d, "routed", "gateway", routed_body(d), now))
    task: Task | None = None
    if d.status is Status.AUTO_DECIDED:
        events.append(event(d, "decision_finalized", "gateway", final_body(d, by="auto"), now))
        if d.sampled:
            queue = policy.sampling.queue or "audit"
            task = new_task(d, queue, TaskKind.AUDIT, new_id())
            body = {"task_id": task.task_id, "queue": queue, "probability": d.sample_probability}
            events.append(event(d, "audit_sampled", "gateway", body, now))
    else:
        task, drawn = review_task(d, policy, d.queue, new_id)
        events += drawn
    return task, tuple(events)


def routed_body(d: Decision) -> dict[str, Any]:
    """The body of the ``routed`` event that says where ``d`` went, and by which rule."""
    return {
        "route": d.route,
        "rule": d.rule,
        "reasons": list(d.reasons),
        "failed_closed": d.rule == "fail_closed",
        "significant": d.significant,
    }


def review_task(d: Decision, policy: Policy, queue: str, new_id: Callable[[], str]) -> tuple[Task, list[NewEvent]]:
    """A new review task for ``d`` in ``queue`` with that queue's SLA, drawn blind-first at its
    ``blind_rate`` (the draw logged ``blind_review_drawn``): the task and its events."""
    q = policy.queues.get(queue)
    task = new_task(d, queue, TaskKind.REVIEW, new_id(), sla=q.sla if q else None)
    if q is None or q.blind_rate <= 0 or not drawn_blind(d.decision_id, q.blind_rate):
        return task, []
    task = dataclasses.replace(task, blind=True, blind_probability=q.blind_rate)
    body = {"task_id": task.task_id, "queue": q.name, "draw": blind_draw(d.decision_id), "probability": q.blind_rate}
    return task, [event(d, "blind_review_drawn", "gateway", body, d.created_at)]


def new_task(
    d: Decision, queue: str, kind: TaskKind, task_id: str, *, sla: Sla | None = None, created_at: datetime | None = None
) -> Task:
    """A new open task in ``queue`` for ``d``, with its SLA's warning and due times stored."""
    created = created_at or d.created_at
    times = deadline(created, sla)
    return Task(
        task_id=task_id,
        decision_id=d.decision_id,
        queue=queue,
        kind=kind,
        state=TaskState.OPEN,
        created_at=created,
        requested_by=d.requested_by,
        warn_at=times.warn_at,
        due_at=times.due_at,
    )
