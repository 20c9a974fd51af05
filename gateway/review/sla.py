"""Queue SLAs: a task's stored warning and due times, its SLA state, and the action its timeout takes.

Pure: the clock is an argument, so tests move time instead of sleeping. The due time is computed
once when the task is created and stored with it; the timer use case selects tasks whose due time
has passed and applies the queue's :class:`~gateway.policy.model.TimeoutAction` through a guarded
Change, so a timer fired by two replicas fires once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from gateway.policy.model import Policy, Sla, TimeoutAction

__all__ = ["Deadline", "SlaState", "deadline", "sla_state", "timeout_action"]

SlaState = Literal["ok", "warning", "breached"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a task counts as at risk and when it times out (both None without an SLA)."""

    warn_at: datetime | None
    due_at: datetime | None


def deadline(created_at: datetime, sla: Sla | None) -> Deadline:
    """The stored times of a task created at ``created_at`` in a queue with ``sla``."""
    if sla is None:
        return Deadline(None, None)
    warn = created_at + timedelta(seconds=sla.warn_seconds) if sla.warn_seconds is not None else None
    return Deadline(warn, created_at + timedelta(seconds=sla.due_seconds))


def sla_state(now: datetime, d: Deadline) -> SlaState:
    """``breached`` at or after the due time, ``warning`` at or after the warning time, else ``ok``."""
    if d.due_at is not None and now >= d.due_at:
        return "breached"
    if d.warn_at is not None and now >= d.warn_at:
        return "warning"
    return "ok"


def timeout_action(policy: Policy, queue: str) -> TimeoutAction:
    """What the timeout of a task in ``queue`` does; a queue without an SLA, or gone, expires (fail closed).

    A stored due time can outlive the policy that set it (the queue was removed, or its SLA
    dropped, by a reload). The task still times out, and the safe action then is ``expire``:
    never an automatic outcome the current policy does not state.
    """
    q = policy.queues.get(queue)
    if q is None or q.sla is None:
        return TimeoutAction("expire")
    action = q.sla.on_timeout
    if action.action == "escalate" and action.queue not in policy.queues:
        return TimeoutAction("expire")
    if action.action == "decide" and policy.significant and action.outcome in policy.adverse_outcomes:
        return TimeoutAction("expire")  # lint refuses this; the guard holds even if it slipped through
    return action
