"""Recording a blind reviewer's initial outcome, which reveals the proposal to them (``review/blind.py``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from gateway.errors import PreconditionFailed
from gateway.policy.model import Policy
from gateway.review.blind import check_outcome
from gateway.review.change import Change, Update
from gateway.review.events import event, task_guard
from gateway.review.model import Decision, Principal, Task

__all__ = ["INITIAL_RECORDED", "plan_initial"]

INITIAL_RECORDED = "blind_initial_recorded"
"""The event recording a blind reviewer's outcome before the reveal."""


def plan_initial(
    principal: Principal, task: Task, d: Decision, outcome: str, policy: Policy | None, now: datetime
) -> tuple[Change, Task]:
    """The Change recording the holder's initial outcome on a blind task, which reveals the proposal."""
    if not task.blind:
        raise PreconditionFailed(f"task {task.task_id} is not reviewed blind-first; submit it")
    if task.revealed_at is not None:
        raise PreconditionFailed(f"the initial outcome of task {task.task_id} was recorded already")
    check_outcome(outcome, policy)
    revealed = dataclasses.replace(task, initial_outcome=outcome, revealed_at=now)
    update = Update(revealed, task_guard(task), f"task {task.task_id} changed meanwhile; claim it again")
    body = {"task_id": task.task_id, "queue": task.queue, "initial_outcome": outcome}
    return Change(updates=(update,), events=(event(d, INITIAL_RECORDED, principal.name, body, now),)), revealed
