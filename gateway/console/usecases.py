"""The console's one seam to the application layer: every use case and store read it calls.

The pages call only these functions, all coroutines on the console's event loop: the service's
async use cases (which plan a Change and await its group commit), and the few snapshot reads
the pages need beyond them, each run on a worker thread.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from gateway.review.commands import SubmitCommand
from gateway.review.model import Decision, Principal, Task

__all__ = [
    "claim_next",
    "get_decision",
    "may_review",
    "queue_depths",
    "release",
    "renew",
    "stored_policies",
    "stored_policy",
    "submit",
    "task",
]


async def claim_next(
    service: Any, principal: Principal, queue: str, lease: timedelta | None = None
) -> tuple[Task, Decision] | None:
    """Lease the oldest claimable task of ``queue`` (the use case checks the role)."""
    return await service.claim_next(principal, queue, lease)  # type: ignore[no-any-return]


async def submit(service: Any, principal: Principal, cmd: SubmitCommand) -> tuple[Decision, Task]:
    """Sign off a task the principal holds under a live lease."""
    return await service.submit(principal, cmd)  # type: ignore[no-any-return]


async def record_initial(service: Any, principal: Principal, task_id: str, outcome: str) -> tuple[Task, Decision]:
    """The blind reviewer's initial outcome (``ReviewService.record_initial_outcome``): reveals the proposal."""
    return await service.record_initial_outcome(principal, task_id, outcome)  # type: ignore[no-any-return]


async def release(service: Any, principal: Principal, task_id: str, reason: str) -> Task:
    """Hand a held task back to its queue."""
    return await service.release(principal, task_id, reason)  # type: ignore[no-any-return]


async def renew(service: Any, principal: Principal, task_id: str) -> Task:
    """Extend the principal's live lease on a task by the default lease from now."""
    return await service.renew_lease(principal, task_id)  # type: ignore[no-any-return]


async def may_review(service: Any, principal: Principal, queue: str) -> None:
    """Raise unless the principal may review from ``queue`` (the use case's own check)."""
    await service.list_tasks(principal, queue, 1)


async def get_decision(service: Any, principal: Principal, decision_id: str) -> Decision:
    """The decision, if the principal may see it."""
    return await service.get_decision(principal, decision_id)  # type: ignore[no-any-return]


async def task(service: Any, task_id: str) -> Task | None:
    """One task by id, whoever holds it (the page checks who may open it)."""
    return await asyncio.to_thread(service.store.read, lambda tx: tx.task(task_id))  # type: ignore[no-any-return]


async def queue_depths(service: Any, now: datetime) -> dict[str, tuple[int, datetime | None]]:
    """Per queue: tasks not done, and the creation time of the oldest."""
    return await asyncio.to_thread(service.store.read, lambda tx: tx.queue_depths(now))  # type: ignore[no-any-return]


async def stored_policies(service: Any) -> list[Any]:
    """Every stored policy version."""
    return await asyncio.to_thread(service.store.read, lambda tx: tx.policies())  # type: ignore[no-any-return]


async def stored_policy(service: Any, name: str, version: int) -> Any:
    """One stored policy version, or None."""
    return await asyncio.to_thread(service.store.read, lambda tx: tx.policy(name, version))
