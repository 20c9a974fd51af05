"""The transactions of the SQL store: reads, and the writes of one op of a group-commit batch.

``SqlWriteTx`` runs the exact way (each statement at once, inside the op's savepoint) or the
fast way (inserts buffered in the batch's ``Pending`` and written per table in one
``executemany``); ``Retry`` tells the writer to roll back and run the batch the exact way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from audit import AuditLog, NewEvent, PolicyConflict, iso_utc
from audit.record import to_utc
from audit.schema import UtcDateTime
from gateway.adapters.rows import (
    decision_from_row,
    decision_values,
    new_event,
    stored_policy,
    task_from_row,
    task_values,
)
from gateway.adapters.tables import decisions, review_tasks
from gateway.errors import Conflict, NotFound
from gateway.review.model import Decision, EventDraft, Task, TaskState
from gateway.review.ports import StoredPolicy

__all__ = ["AUDIT", "Pending", "Retry", "SqlReadTx", "SqlWriteTx"]

_D = decisions.c
_T = review_tasks.c
AUDIT = AuditLog()
# Built once: a prebuilt statement's cache key is memoized, so each call skips the build.
_BY_ID = select(decisions).where(_D.decision_id == bindparam("id"))
_BY_REQUEST = select(decisions).where(_D.request_id == bindparam("id"))
_TASK = select(review_tasks).where(_T.task_id == bindparam("id"))
_MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_EXISTS_SQL = {  # by the driver's paramstyle; others take the SQLAlchemy path
    "qmark": "SELECT 1 FROM decisions WHERE request_id = ?",
    "format": "SELECT 1 FROM decisions WHERE request_id = %s",
    "pyformat": "SELECT 1 FROM decisions WHERE request_id = %s",
}


def _sqlite_time(value: Any) -> Any:
    """A datetime as the exact text ``UtcDateTime`` stores on SQLite (UTC, microseconds)."""
    if isinstance(value, datetime):
        t = iso_utc(value)
        return f"{t[:10]} {t[11:26]}"
    return value


_SHAPES: dict[tuple[str, str], tuple[str, str, Any, tuple[int, ...]]] = {}


def _shape(table: Table, dialect_name: str, mark: str) -> tuple[str, str, Any, tuple[int, ...]]:
    """Per table and dialect, built once: the INSERT up to ``VALUES``, one row's placeholders,
    a getter of a row's values in column order, and the positions of the time columns."""
    key = (table.name, dialect_name)
    shape = _SHAPES.get(key)
    if shape is None:
        names = [c.name for c in table.columns]
        head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
        one = f"({', '.join([mark] * len(names))})"
        times = tuple(i for i, c in enumerate(table.columns) if isinstance(c.type, UtcDateTime))
        shape = _SHAPES[key] = (head, one, itemgetter(*names), times)
    return shape


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` of ``rows``; on SQLite and PostgreSQL straight to the driver.

    The driver gets plain values, skipping SQLAlchemy's per-row type processing; the values
    are what that processing would give (``UtcDateTime``'s text on SQLite, aware UTC times
    on PostgreSQL; booleans and floats as they are). Only the time columns are converted.
    (A multi-row ``INSERT ... VALUES (...), (...)`` was measured too: fewer GIL hand-offs,
    but twice the CPU per row in SQLite, and no gain in the gateway.)
    """
    dialect = conn.dialect
    mark = _MARK.get(dialect.paramstyle)
    if mark is None or dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover
        conn.execute(insert(table), rows)
        return
    head, one, values, times = _shape(table, dialect.name, mark)
    convert = _sqlite_time if dialect.name == "sqlite" else to_utc
    params = []
    for r in rows:
        row = list(values(r))
        for i in times:
            if row[i] is not None:
                row[i] = convert(row[i])
        params.append(row)
    conn.exec_driver_sql(head + one, [tuple(p) for p in params])


class Retry(BaseException):
    """The fast way cannot finish this batch: roll back and run it the exact way."""


class SqlReadTx:
    """``ReadTx`` over one connection in an open transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def decision(self, decision_id: str) -> Decision | None:
        row = self._conn.execute(_BY_ID, {"id": decision_id}).first()
        return None if row is None else decision_from_row(row)

    def decision_by_request(self, request_id: str) -> Decision | None:
        sql = _EXISTS_SQL.get(self._conn.dialect.paramstyle)
        if sql is not None:  # the common answer, "no such request", straight from the driver
            cur = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cur.execute(sql, (request_id,))
                if cur.fetchone() is None:
                    return None
            finally:
                cur.close()
        row = self._conn.execute(_BY_REQUEST, {"id": request_id}).first()
        return None if row is None else decision_from_row(row)

    def task(self, task_id: str) -> Task | None:
        row = self._conn.execute(_TASK, {"id": task_id}).first()
        return None if row is None else task_from_row(row)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        stmt = (
            select(review_tasks)
            .where(_T.decision_id == decision_id)
            .order_by(_T.created_at, _T.task_id)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        rows = [r for where in _claimable_in(queue, now) for r in self._conn.execute(
            select(review_tasks).where(*where).order_by(_T.created_at, _T.task_id).limit(limit)
        )]
        rows.sort(key=lambda r: (to_utc(r.created_at), r.task_id))
        return [task_from_row(r) for r in rows[:limit]]

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


def _claimable_in(queue: str, now: datetime) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The claimable tasks of ``queue`` as two conditions, each served by its own index: open
    tasks (queue, state, created_at), and claimed ones whose lease ended before ``now``
    (state, lease_expires_at). One ``open OR lapsed`` condition made the database read every
    task the queue ever had, done ones included, and sort them."""
    return (
        (_T.queue == queue, _T.state == TaskState.OPEN.value),
        (_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now, _T.queue == queue),
    )


class Pending:
    """Inserts the fast way buffers for a whole batch, written per table in one executemany.

    It also holds the request ids the batch's ops looked up and were told are not stored
    (``assumed``): instead of one query per op, they are all checked in one query before the
    buffered rows are written, and any that is stored after all sends the batch the exact way
    (where each op asks the database itself), so the answer is the same as asking at once.
    """

    def __init__(self) -> None:
        self.decisions: dict[str, Decision] = {}
        self.by_request: dict[str, Decision] = {}
        self.rows: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, Task] = {}
        self.assumed: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.decisions or self.tasks or self.assumed)

    def check_assumed(self, conn: Connection) -> None:
        """``Retry`` if any request id the ops were told is free is stored in the database."""
        ids = list(self.assumed)
        self.assumed.clear()
        mark = _MARK.get(conn.dialect.paramstyle)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            if mark is not None:
                sql = (f"SELECT request_id FROM decisions WHERE request_id IN "
                       f"({', '.join([mark] * len(chunk))})")
                found = conn.exec_driver_sql(sql, tuple(chunk)).first()
            else:  # pragma: no cover - other backends take the SQLAlchemy path
                found = conn.execute(select(_D.request_id).where(_D.request_id.in_(chunk))).first()
            if found is not None:
                raise Retry

    def drop(self, decision_ids: list[str], task_ids: list[str]) -> None:
        """Forget one failed op's buffered rows."""
        for decision_id in decision_ids:
            self.rows.pop(decision_id, None)
            d = self.decisions.pop(decision_id, None)
            if d is not None:
                self.by_request.pop(d.request_id, None)
        for task_id in task_ids:
            self.tasks.pop(task_id, None)

    def flush(self, conn: Connection) -> None:
        """Check the assumed request ids, then insert every buffered row (decisions first)."""
        if self.assumed:
            self.check_assumed(conn)
        if self.decisions:
            _insert_many(conn, decisions, [self.rows[k] for k in self.decisions])
        if self.tasks:
            _insert_many(conn, review_tasks, [task_values(t) for t in self.tasks.values()])
        self.decisions.clear()
        self.by_request.clear()
        self.rows.clear()
        self.tasks.clear()


class SqlWriteTx(SqlReadTx):
    """``WriteTx`` for one op of a batch.

    The exact way (``pending`` is None): its statements run at once, inside the op's
    savepoint. The fast way: inserts go to the batch's buffer, which reads of one row see
    and every other statement flushes first, so the op reads what the batch wrote so far.
    ``wrote`` tells whether the op changed the database itself (its failure then needs the
    exact way); ``mine`` names its rows still in the buffer.
    """

    def __init__(self, conn: Connection, pending: Pending | None = None) -> None:
        super().__init__(conn)
        self.events: list[NewEvent] = []
        self._types: dict[str, str] = {}
        self._pending = pending
        self.wrote = False
        self.mine: tuple[list[str], list[str]] = ([], [])

    def _flush(self) -> None:
        """Write the buffered inserts before a statement that must see them."""
        pending = self._pending
        if pending:
            self.wrote = True
            try:
                pending.flush(self._conn)
            except DBAPIError as exc:  # a refused buffered insert: only the exact way can tell whose
                raise Retry from exc

    def decision(self, decision_id: str) -> Decision | None:
        if self._pending is not None and decision_id in self._pending.decisions:
            return self._pending.decisions[decision_id]
        return super().decision(decision_id)

    def decision_by_request(self, request_id: str) -> Decision | None:
        pending = self._pending
        if pending is not None:
            found = pending.by_request.get(request_id)
            if found is None:  # checked for the whole batch in one query before its inserts
                pending.assumed.add(request_id)
            return found
        return super().decision_by_request(request_id)

    def task(self, task_id: str) -> Task | None:
        if self._pending is not None and task_id in self._pending.tasks:
            return self._pending.tasks[task_id]
        return super().task(task_id)

    def tasks_for_decision(self, decision_id: str) -> list[Task]:
        self._flush()
        return super().tasks_for_decision(decision_id)

    def open_tasks(self, queue: str, now: datetime, limit: int) -> list[Task]:
        self._flush()
        return super().open_tasks(queue, now, limit)

    def queue_depths(self, now: datetime) -> dict[str, tuple[int, datetime | None]]:
        self._flush()
        return super().queue_depths(now)

    def insert_decision(self, decision: Decision) -> None:
        """Insert a decision; ``Conflict`` if its decision id or request id is taken."""
        pending = self._pending
        if pending is not None:
            if decision.decision_id in pending.decisions or decision.request_id in pending.by_request:
                raise Conflict(
                    f"decision {decision.decision_id} or request id {decision.request_id!r} "
                    "is already stored"
                )
            # a value the row cannot hold fails this op, not the flush
            pending.rows[decision.decision_id] = decision_values(decision)
            pending.decisions[decision.decision_id] = decision
            pending.by_request[decision.request_id] = decision
            self.mine[0].append(decision.decision_id)
            self._types[decision.decision_id] = decision.decision_type
            return
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
        self._flush()
        self.wrote = True
        values = decision_values(decision)
        del values["decision_id"]
        done = self._conn.execute(
            update(decisions).where(_D.decision_id == decision.decision_id).values(values)
        )
        if done.rowcount != 1:
            raise NotFound(f"no decision {decision.decision_id}")
        self._types[decision.decision_id] = decision.decision_type

    def insert_task(self, task: Task) -> None:
        pending = self._pending
        if pending is not None:
            if task.task_id in pending.tasks:
                raise Retry  # let the database refuse the duplicate the exact way
            task_values(task)
            pending.tasks[task.task_id] = task
            self.mine[1].append(task.task_id)
            return
        self._conn.execute(insert(review_tasks).values(task_values(task)))

    def update_task(self, task: Task) -> None:
        self._flush()
        self.wrote = True
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
        self._flush()
        found = []  # the oldest open task and the oldest lapsed lease; then the older of two
        for where in _claimable_in(queue, now):
            stmt = (
                select(review_tasks)
                .where(*where, _T.requested_by != claimer)
                .order_by(_T.created_at, _T.task_id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            hit = self._conn.execute(stmt).first()
            if hit is not None:
                found.append(hit)
        if not found:
            return None
        row = min(found, key=lambda r: (to_utc(r.created_at), r.task_id))
        self.wrote = True
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
        self._flush()
        stmt = (
            select(review_tasks)
            .where(_T.state == TaskState.CLAIMED.value, _T.lease_expires_at < now)
            .order_by(_T.lease_expires_at, _T.task_id)
            .limit(limit)
        )
        return [task_from_row(r) for r in self._conn.execute(stmt)]

    def store_policy(self, policy: StoredPolicy) -> bool:
        self._flush()
        self.wrote = True
        try:
            return AUDIT.store_policy(
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
        # The fast way leaves the JSON check to the chain: a body it refuses sends the batch
        # the exact way, where the check runs here and fails only its own op.
        self.events.append(new_event(event, self._decision_type(event), check=self._pending is None))

    def _decision_type(self, event: EventDraft) -> str:
        """The decision type the event concerns, for the log's decision-type index."""
        if event.decision_id:
            known = self._types.get(event.decision_id)
            if known is None and self._pending is not None:
                found = self._pending.decisions.get(event.decision_id)
                known = None if found is None else found.decision_type
            if known is None:
                known = self._conn.execute(
                    select(_D.decision_type).where(_D.decision_id == event.decision_id)
                ).scalar_one_or_none() or ""
                self._types[event.decision_id] = known
            return known
        body_type = event.body.get("decision_type", "")
        return body_type if isinstance(body_type, str) else ""
