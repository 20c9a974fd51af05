"""Reopening an automatic decision for human review: the seed's exception-based pattern.

A principal holding a role the policy's ``reopen`` section names opens any automatic decision
of that type; an audit task goes to the named queue, and the reviewer's sign-off is a
correction, exactly as for a random audit sample (an approve confirms the automatic outcome).
Pure planning: the service reads the decision and its tasks; this returns the Change, guarded
on the decision still being the automatic one that was read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from gateway.errors import InvalidRequest, PermissionDenied, PreconditionFailed
from gateway.policy.model import Policy
from gateway.review.change import Change, Update
from gateway.review.events import event, new_task
from gateway.review.model import Decision, Principal, Status, Task, TaskKind, TaskState

__all__ = ["REOPENED", "plan_reopen"]

REOPENED = "decision_reopened"
"""The event that records who opened an automatic decision for review, and why."""


def plan_reopen(
    principal: Principal,
    d: Decision,
    tasks: Sequence[Task],
    policy: Policy | None,
    reason: str,
    now: datetime,
    new_id: Callable[[], str],
) -> tuple[Change, Task]:
    """The Change opening ``d`` for review, and its new audit task; refusals name why."""
    if not reason.strip():
        raise InvalidRequest("reason", "must say why the decision is reopened")
    if policy is None or policy.reopen is None:
        raise PreconditionFailed(f"the policy for {d.decision_type} does not allow reopening (no 'reopen' section)")
    if not principal.roles & frozenset(policy.reopen.roles):
        raise PermissionDenied(
            f"{principal.name} lacks a role that may reopen {d.decision_type} ({', '.join(policy.reopen.roles)})"
        )
    if d.status is not Status.AUTO_DECIDED:
        raise PreconditionFailed(f"decision {d.decision_id} is {d.status.value}: only automatic decisions reopen")
    if any(t.kind is TaskKind.AUDIT and t.state is not TaskState.DONE for t in tasks):
        raise PreconditionFailed(f"decision {d.decision_id} already has a human review open")
    queue = policy.reopen.queue
    task = new_task(d, queue, TaskKind.AUDIT, new_id(), created_at=now)
    body = {"task_id": task.task_id, "queue": queue, "reason": reason}
    guard = Update(d, {"status": Status.AUTO_DECIDED}, f"decision {d.decision_id} changed meanwhile")
    return Change(inserts=(task,), updates=(guard,), events=(event(d, REOPENED, principal.name, body, now),)), task
