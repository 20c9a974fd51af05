"""The SQL unit of work: one writer thread group-commits every write, so an answer means durable.

``write(op)`` queues the op and blocks. The writer takes everything queued (up to
``batch_max``), opens one transaction (on PostgreSQL it first takes the chain's advisory
lock, so replicas append in turn), runs each op in its own SAVEPOINT, chains the batch's
audit events, and commits once. An op that raises loses only its own writes and events; a
failure outside the ops (the commit, the chain insert) fails the whole batch with
``StoreUnavailable``. Reads never touch the writer: they run on pooled connections.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Self, TypeVar

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from audit import AuditLog, NewEvent, PolicyConflict
from gateway.adapters.db import WRITE, unavailable
from gateway.adapters.rows import (
    decision_from_row,
    decision_values,
    new_event,
    stored_policy,
    task_from_row,
    task_values,
)
from gateway.adapters.tables import decisions, review_tasks
from gateway.errors import Conflict, NotFound, StoreUnavailable
from gateway.review.model import Decision, EventDraft, Task, TaskState
from gateway.review.ports import ReadTx, StoredPolicy, WriteTx

__all__ = ["SqlStore"]

T = TypeVar("T")
log = logging.getLogger(__name__)

_D = decisions.c
_T = review_tasks.c
_AUDIT = AuditLog()


class _SqlReadTx:
    """``ReadTx`` over one connection in an open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def decision(self, decision_id: str) -> Decision | None:
        row = self._conn.execute(select(decisions).where(_D.decision_id == decision_id)).first()
        return None if row is None else decision_from_row(row)

    def decision_by_request(self, request_id: str) -> Decision | None:
        row = self._conn.execute(select(decisions).where(_D.request_id == request_id)).first()
        return None if row is None else decision_from_row(row)

    def task(self, task_id: str) -> Task | None:
        row = self._conn.execute(select(review_tasks).where(_T.task_id == task_id)).first()
        return None if row is None else task_from_row(row)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.decision_id == decision_id)
            .order_by(_T.created_at, _T.task_id)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.queue == queue, _claimable(now))
            .order_by(_T.created_at, _T.task_id)
            .limit(limit)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        stmt = (
            select(_T.queue, func.count(), func.min(_T.created_at))
            .where(_T.state != TaskState.DONE.value)
            .group_by(_T.queue)
        )
        return {q: (int(n), oldest) for q, n, oldest in self._conn.execute(stmt)}

    def policy(self, name: str, version: int) -> StoredPolicy | None:
        found = _AUDIT.get_policy(self._conn, name, version)
        return None if found is None else stored_policy(found)

    def policies(self) -> list[StoredPolicy]:
        return [stored_policy(p) for p in _AUDIT.list_policies(self._conn)]


def _claimable(now: datetime) -> Any:
    """Open, or claimed under a lease that ended before ``now``."""
    return or_(
        _T.state == TaskState.OPEN.value,
        and_(_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now),
    )


class _SqlWriteTx(_SqlReadTx):
    """``WriteTx`` for one op of a batch: its statements run inside the op's savepoint."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.events: list[NewEvent] = []
        self._types: dict[str, str] = {}

    def insert_decision(self, decision: Decision) -> None:
        """Insert a decision; ``Conflict`` if its decision id or request id is taken."""
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(decisions).values(decision_values(decision)))
        except IntegrityError as exc:
            raise Conflict(
                f"decision {decision.decision_id} or request id {decision.request_id!r} "
                "is already stored"
            ) from exc
        self._types[decision.decision_id] = decision.decision_type

    def update_decision(self, decision: Decision) -> None:
        values = decision_values(decision)
        del values["decision_id"]
        done = self._conn.execute(
            update(decisions).where(_D.decision_id == decision.decision_id).values(values)
        )
        if done.rowcount != 1:
            raise NotFound(f"no decision {decision.decision_id}")
        self._types[decision.decision_id] = decision.decision_type

    def insert_task(self, task: Task) -> None:
        self._conn.execute(insert(review_tasks).values(task_values(task)))

    def update_task(self, task: Task) -> None:
        values = task_values(task)
        del values["task_id"]
        done = self._conn.execute(
            update(review_tasks).where(_T.task_id == task.task_id).values(values)
        )
        if done.rowcount != 1:
            raise NotFound(f"no task {task.task_id}")

    def claim_next(
        self, queue: str, now: datetime, lease_until: datetime, claimer: str
    ) -> Task | None:
        stmt = (
            select(review_tasks)
            .where(_T.queue == queue, _T.requested_by != claimer, _claimable(now))
            .order_by(_T.created_at, _T.task_id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = self._conn.execute(stmt).first()
        if row is None:
            return None
        claimed = {
            "state": TaskState.CLAIMED.value,
            "claimed_by": claimer,
            "claimed_at": now,
            "lease_expires_at": lease_until,
        }
        self._conn.execute(update(review_tasks).where(_T.task_id == row.task_id).values(claimed))
        return replace(
            task_from_row(row),
            state=TaskState.CLAIMED,
            claimed_by=claimer,
            claimed_at=now,
            lease_expires_at=lease_until,
        )

    def lapsed_leases(self, now: datetime, limit: int) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now)
            .order_by(_T.lease_expires_at, _T.task_id)
            .limit(limit)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def store_policy(self, policy: StoredPolicy) -> bool:
        try:
            return _AUDIT.store_policy(
                self._conn,
                name=policy.ref.name,
                version=policy.ref.version,
                digest=policy.ref.digest,
                decision_type=policy.decision_type,
                text=policy.text,
                loaded_at=policy.loaded_at,
            )
        except PolicyConflict as exc:
            raise Conflict(str(exc)) from exc

    def append(self, event: EventDraft) -> None:
        self.events.append(new_event(event, self._decision_type(event)))

    def _decision_type(self, event: EventDraft) -> str:
        """The decision type the event concerns, for the log's decision-type index."""
        if event.decision_id:
            known = self._types.get(event.decision_id)
            if known is None:
                known = self._conn.execute(
                    select(_D.decision_type).where(_D.decision_id == event.decision_id)
                ).scalar_one_or_none() or ""
                self._types[event.decision_id] = known
            return known
        body_type = event.body.get("decision_type", "")
        return body_type if isinstance(body_type, str) else ""


@dataclass(slots=True)
class _Item:
    op: Callable[[WriteTx], Any]
    future: Future[Any] = field(default_factory=Future)


_STOP = object()


class SqlStore:
    """``gateway.review.ports.Store`` on SQLAlchemy with a group-commit writer thread.

    ``on_commit`` is called on the writer thread after each commit with the decision ids
    the batch's events touched (the composition root wires it to the watch notifier); its
    errors are logged and never fail a write. ``committed_batches`` counts commits.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        batch_max: int = 256,
        on_commit: Callable[[set[str]], None] | None = None,
    ) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self.engine = engine
        self.batch_max = batch_max
        self.audit = _AUDIT
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._committed = 0
        self._writer = threading.Thread(target=self._run, name="signoff-sql-writer", daemon=True)
        self._writer.start()

    @property
    def committed_batches(self) -> int:
        """How many write transactions the writer has committed."""
        return self._committed

    @property
    def queued(self) -> int:
        """Writes waiting for the writer to take them into a batch."""
        return self._queue.qsize()

    def write(self, op: Callable[[WriteTx], T]) -> T:
        """Run ``op`` in the next batch; return its result once the batch is durable."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("Store.write called from inside a write op: it would deadlock")
        item = _Item(op)
        with self._lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            self._queue.put(item)
        return item.future.result()  # type: ignore[no-any-return]

    def read(self, op: Callable[[ReadTx], T]) -> T:
        """Run ``op`` in a read transaction (a snapshot on PostgreSQL: repeatable read)."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with conn.begin():
                    return op(_SqlReadTx(conn))
        except DBAPIError as exc:
            raise unavailable(self.engine.url, exc) from exc

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Later writes raise StoreUnavailable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)  # type: ignore[arg-type]
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Item]) -> None:
        results: list[tuple[_Item, Any, BaseException | None]] = []
        touched: set[str] = set()
        try:
            with self.engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    _AUDIT.lock(conn)
                    events: list[NewEvent] = []
                    for item in batch:
                        tx = _SqlWriteTx(conn)
                        try:
                            with conn.begin_nested():
                                result = item.op(tx)
                        except Exception as exc:  # noqa: BLE001 - the op's failure undoes only it
                            results.append((item, None, exc))
                            continue
                        events.extend(tx.events)
                        results.append((item, result, None))
                    _AUDIT.append(conn, events)
                    touched = {e.decision_id for e in events if e.decision_id}
        except Exception as exc:  # any failure outside the ops fails the whole batch
            log.exception("group commit of %d writes failed", len(batch))
            for item in batch:  # one exception object per waiting thread
                item.future.set_exception(unavailable(self.engine.url, exc))
            return
        self._committed += 1
        if touched and self._on_commit is not None:
            try:
                self._on_commit(touched)
            except Exception:
                log.exception("on_commit hook failed")
        for item, result, error in results:
            if error is None:
                item.future.set_result(result)
            else:
                item.future.set_exception(error)
