"""The read transaction of the SQL store: one consistent snapshot over one connection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from audit import AuditLog
from audit.record import to_utc
from gateway.adapters.rows import decision_from_row, gold_from_row, stored_policy, task_from_row
from gateway.adapters.tables import decisions, gold_cases, review_tasks
from gateway.review.gold import StoredGold
from gateway.review.model import Decision, Task, TaskState
from gateway.review.ports import StoredPolicy

__all__ = ["AUDIT", "SqlReadTx", "claimable_in"]

_D = decisions.c
_T = review_tasks.c
AUDIT = AuditLog()
# Built once: a prebuilt statement's cache key is memoized, so each call skips the build.
_BY_ID = select(decisions).where(_D.decision_id == bindparam("id"))
_BY_REQUEST = select(decisions).where(_D.requested_by == bindparam("by"), _D.request_id == bindparam("id"))
_TASK = select(review_tasks).where(_T.task_id == bindparam("id"))


class SqlReadTx:
    """``ReadTx`` over one connection in an open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def decision(self, decision_id: str) -> Decision | None:
        row = self._conn.execute(_BY_ID, {"id": decision_id}).first()
        return None if row is None else decision_from_row(row)

    def decision_by_request(self, requested_by: str, request_id: str) -> Decision | None:
        row = self._conn.execute(_BY_REQUEST, {"by": requested_by, "id": request_id}).first()
        return None if row is None else decision_from_row(row)

    def task(self, task_id: str) -> Task | None:
        row = self._conn.execute(_TASK, {"id": task_id}).first()
        return None if row is None else task_from_row(row)

    def gold_cases(self, decision_type: str) -> list[StoredGold]:
        stmt = (
            select(gold_cases)
            .where(gold_cases.c.decision_type == decision_type, gold_cases.c.retired_at.is_(None))
            .order_by(gold_cases.c.case_id)
        )
        return [gold_from_row(r) for r in self._conn.execute(stmt)]

    def gold_case(self, case_id: str) -> StoredGold | None:
        row = self._conn.execute(select(gold_cases).where(gold_cases.c.case_id == case_id)).first()
        return None if row is None else gold_from_row(row)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        stmt = select(review_tasks).where(_T.decision_id == decision_id).order_by(_T.created_at, _T.task_id)
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        rows = [
            r
            for where in claimable_in(queue, now)
            for r in self._conn.execute(
                select(review_tasks).where(*where).order_by(_T.created_at, _T.task_id).limit(limit)
            )
        ]
        rows.sort(key=lambda r: (to_utc(r.created_at), r.task_id))
        return [task_from_row(r) for r in rows[:limit]]

    def claimable(self, queue: str, now: datetime, claimer: str, limit: int) -> list[Task]:
        rows = [
            r
            for where in claimable_in(queue, now)
            for r in self._conn.execute(
                select(review_tasks)
                .where(*where, _T.requested_by != claimer)
                .order_by(_T.created_at, _T.task_id)
                .limit(limit)
            )
        ]
        rows.sort(key=lambda r: (to_utc(r.created_at), r.task_id))
        return [task_from_row(r) for r in rows[:limit]]

    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now)
            .order_by(_T.lease_expires_at, _T.task_id)
            .limit(limit)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def due_tasks(self, now: datetime, limit: int) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.state.in_([TaskState.OPEN.value, TaskState.CLAIMED.value]), _T.due_at <= now)
            .order_by(_T.due_at, _T.task_id)
            .limit(limit)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        stmt = (  # not "state != done": that reads every task ever made, at every scrape
            select(_T.queue, func.count(), func.min(_T.created_at))
            .where(_T.state.in_([TaskState.OPEN.value, TaskState.CLAIMED.value]))
            .group_by(_T.queue)
        )
        return {q: (int(n), oldest) for q, n, oldest in self._conn.execute(stmt)}

    def policy(self, name: str, version: int) -> StoredPolicy | None:
        found = AUDIT.get_policy(self._conn, name, version)
        return None if found is None else stored_policy(found)

    def policies(self) -> list[StoredPolicy]:
        return [stored_policy(p) for p in AUDIT.list_policies(self._conn)]


def claimable_in(queue: str, now: datetime) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The claimable tasks of ``queue`` as two conditions, each served by its own index: open
    tasks (queue, state, created_at), and claimed ones whose lease ended before ``now``
    (state, lease_expires_at). One ``open OR lapsed`` condition made the database read every
    task the queue ever had, done ones included, and sort them."""
    return (
        (_T.queue == queue, _T.state == TaskState.OPEN.value),
        (_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now, _T.queue == queue),
    )
