"""Lease renewal: a reviewer's heartbeat, so a long review is not handed to someone else mid-way.

Pure planning: the service reads the task (it must be the caller's, under a live lease) and this
module returns the Change. The update is guarded on the lease as read, so a renewal that races a
lapse-and-reclaim by another reviewer fails with ``Stale`` instead of stealing the task back.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from gateway.errors import InvalidRequest
from gateway.review.change import Change, Update
from gateway.review.events import event, task_guard
from gateway.review.model import Decision, Principal, Task

__all__ = ["checked_lease", "plan_renew"]


def checked_lease(lease: timedelta, most: timedelta) -> timedelta:
    """``lease`` when it is positive and at most ``most``; else ``InvalidRequest`` naming the field."""
    if lease <= timedelta(0) or lease > most:
        raise InvalidRequest("lease", f"must be positive and at most {most}")
    return lease


def plan_renew(principal: Principal, task: Task, d: Decision, now: datetime,
               lease: timedelta) -> tuple[Change, Task]:
    """The Change moving the end of ``principal``'s live lease on ``task`` to ``now + lease``."""
    renewed = dataclasses.replace(task, lease_expires_at=now + lease)
    update = Update(renewed, task_guard(task), f"task {task.task_id} changed meanwhile; claim it again")
    body = {"task_id": task.task_id, "queue": task.queue,
            "previous_lease_expires_at": task.lease_expires_at.isoformat() if task.lease_expires_at else "",
            "lease_expires_at": (now + lease).isoformat()}
    return Change(updates=(update,), events=(event(d, "lease_renewed", principal.name, body, now),)), renewed
