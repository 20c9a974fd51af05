"""Applying a batch of Changes in one transaction: the SQL store's writer runs only this.

No domain code runs here: a Change is data (records, guarded updates, canonical events), and
this module turns a batch of them into statements.

- Request keys first: one query finds every ``(requested_by, request_id)`` of the batch that
  is stored already; such a Change writes nothing and answers with the stored decision (as
  does a second Change of the same batch with the key of an earlier one). The writer holds the
  database's write lock (``BEGIN IMMEDIATE`` on SQLite, the chain's advisory lock on
  PostgreSQL), so no other writer can store a key between that query and the commit.
- A Change of inserts only (a Decide) is buffered: each table's rows go to the driver in one
  ``executemany`` before the events. Any other Change runs in its own SAVEPOINT: its guarded
  updates (``UPDATE ... WHERE key = ? AND <expected values>``) and inserts run at once, and a
  guard that matches no row rolls back that Change alone with ``Stale``.
- If the buffered inserts are refused (a taken decision or task id), the transaction rolls
  back and the batch runs again with every Change in its own savepoint (``exact``), so the
  refusal fails only the Change that caused it.
- Then every event of every Change that held is chained and inserted in one call, and the
  writer commits once.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from audit import NewEvent, PolicyConflict, canonical_json, hashed_time
from audit.record import to_utc
from audit.schema import UtcDateTime
from gateway.adapters.personal import subject_key_values
from gateway.adapters.pg_listen import notify_committed
from gateway.adapters.rows import decision_from_row, decision_values, gold_values, task_values
from gateway.adapters.sql_tx import AUDIT
from gateway.adapters.tables import decisions, gold_cases, review_tasks, subject_keys
from gateway.errors import Conflict, Stale
from gateway.review.change import Applied, Change, Receipt, Update
from gateway.review.gold import StoredGold
from gateway.review.model import Decision, Task
from gateway.review.personal import SubjectKey
from gateway.review.ports import StoredPolicy

__all__ = ["ROWS", "Retry", "apply_batch"]

_D = decisions.c
_MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}

ROWS: dict[type, tuple[Table, Callable[[Any], dict[str, Any]], str]] = {
    Decision: (decisions, decision_values, "decision_id"),
    Task: (review_tasks, task_values, "task_id"),
    SubjectKey: (subject_keys, subject_key_values, "key_id"),
    StoredGold: (gold_cases, gold_values, "case_id"),
}
"""Per record type: its table, its column values, its key column. A record type a later
use case adds (a contest, an approval) registers here and needs no other writer code."""


class Retry(BaseException):
    """The buffered way cannot finish this batch: roll back and run it the exact way."""


Result = tuple[Applied | None, BaseException | None]


def apply_batch(conn: Connection, changes: list[Change], *, exact: bool) -> tuple[list[Result], set[str]]:
    """Apply ``changes`` in the open transaction on ``conn``; each its result or its error,
    and the decision ids the written events touched. ``Retry`` when the buffered way fails."""
    AUDIT.lock(conn)
    priors = _stored_keys(conn, [c.request_key for c in changes if c.request_key is not None])
    seen: dict[tuple[str, str], Decision] = {}
    buffer: dict[Table, list[dict[str, Any]]] = {}
    results: list[Result] = []
    events: list[NewEvent] = []
    counts: list[int] = []
    for change in changes:
        key = change.request_key
        if key is not None:
            prior = priors.get(key) or seen.get(key)
            if prior is not None:
                results.append((Applied(prior=prior), None))
                counts.append(0)
                continue
        try:
            mine = _events_of(change)
            if not exact and not change.updates and _bufferable(change):
                rows = [(ROWS[type(r)][0], ROWS[type(r)][1](r)) for r in change.inserts]
                for table, values in rows:
                    buffer.setdefault(table, []).append(values)
            else:
                _flush(conn, buffer, exact)
                with conn.begin_nested():
                    _run(conn, change)
        except (Stale, Conflict, TypeError, ValueError) as exc:
            results.append((None, exc))
            counts.append(0)
            continue
        if key is not None:
            seen[key] = next(r for r in change.inserts if isinstance(r, Decision))
        events.extend(mine)
        counts.append(len(mine))
        results.append((Applied(), None))
    _flush(conn, buffer, exact)
    chained = AUDIT.append(conn, events)
    touched = {e.decision_id for e in events if e.decision_id}
    if touched and conn.dialect.name == "postgresql":
        notify_committed(conn, touched)  # other replicas' watchers, at commit
    at = 0
    for i, n in enumerate(counts):
        if n:
            applied, _ = results[i]
            assert applied is not None
            receipts = tuple(Receipt(e.seq, e.hash) for e in chained[at : at + n])
            results[i] = (dataclasses.replace(applied, receipts=receipts), None)
            at += n
    return results, touched


def _bufferable(change: Change) -> bool:
    return all(type(r) in ROWS for r in change.inserts)


def _events_of(change: Change) -> list[NewEvent]:
    """The Change's events, each with its canonical body text (made now if the use case did
    not, so a body JSON cannot hold fails this Change, not the batch's chain insert)."""
    out = []
    for e in change.events:
        if not e.body_json:
            e = dataclasses.replace(e, body_json=canonical_json(e.body))
        to_utc(e.time)  # a naive time fails here, with ValueError
        out.append(e)
    return out


def _stored_keys(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Decision]:
    """The stored decisions of these request keys (almost always none: one cheap query).

    One ``requested_by = ? AND request_id IN (...)`` per caller, so the unique index on
    ``(requested_by, request_id)`` answers it (a row-value ``IN`` of pairs made SQLite scan).
    """
    by_caller: dict[str, list[str]] = {}
    for by, rid in dict.fromkeys(keys):
        by_caller.setdefault(by, []).append(rid)
    mark = _MARK.get(conn.dialect.paramstyle)
    found: dict[tuple[str, str], Decision] = {}
    for by, rids in by_caller.items():
        for i in range(0, len(rids), 500):
            chunk = rids[i : i + 500]
            if mark is not None:
                sql = (
                    f"SELECT request_id FROM decisions WHERE requested_by = {mark} AND request_id IN "
                    f"({', '.join([mark] * len(chunk))})"
                )
                hits = [r[0] for r in conn.exec_driver_sql(sql, (by, *chunk))]
            else:  # pragma: no cover - other backends take the SQLAlchemy path
                hits = list(
                    conn.execute(select(_D.request_id).where(_D.requested_by == by, _D.request_id.in_(chunk))).scalars()
                )
            for rid in hits:
                row = conn.execute(select(decisions).where(_D.requested_by == by, _D.request_id == rid)).first()
                if row is not None:
                    found[(by, rid)] = decision_from_row(row)
    return found


def _run(conn: Connection, change: Change) -> None:
    """One Change at once, inside its savepoint: inserts, then guarded updates."""
    for record in change.inserts:
        if isinstance(record, StoredPolicy):
            _store_policy(conn, record)
            continue
        table, values, _ = ROWS[type(record)]
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(values(record)))
        except IntegrityError as exc:
            raise Conflict(f"{type(record).__name__} {_key(record)} is already stored") from exc
    for u in change.updates:
        _update(conn, u)


def _key(record: Any) -> str:
    return str(getattr(record, ROWS[type(record)][2], "?"))


def _store_policy(conn: Connection, p: StoredPolicy) -> None:
    try:
        new = AUDIT.store_policy(
            conn,
            name=p.ref.name,
            version=p.ref.version,
            digest=p.ref.digest,
            decision_type=p.decision_type,
            text=p.text,
            loaded_at=p.loaded_at,
        )
    except PolicyConflict as exc:
        raise Conflict(str(exc)) from exc
    if not new:  # stored meanwhile (another replica): the Change's event would be a second
        raise Conflict(f"policy {p.ref.name!r} version {p.ref.version} was stored meanwhile")


def _update(conn: Connection, u: Update) -> None:
    """``UPDATE`` the record's row iff it still holds what the guard expects; else ``Stale``."""
    table, values_of, key = ROWS[type(u.record)]
    values = values_of(u.record)
    where = [table.c[key] == values.pop(key)]
    for field, expected in u.expect.items():
        column = table.c[field] if field in table.c else table.c[f"{field}_json"]
        options = expected if isinstance(expected, (tuple, frozenset, set)) else (expected,)
        conds = [
            column.is_(None) if v is None else column == _column_value(u.record, field, column.name, v, values_of)
            for v in options
        ]
        where.append(conds[0] if len(conds) == 1 else or_(*conds))
    done = conn.execute(update(table).where(*where).values(values))
    if done.rowcount != 1:
        raise Stale(u.stale)


def _column_value(record: Any, field: str, column: str, value: Any, values_of: Callable[[Any], dict[str, Any]]) -> Any:
    """The stored form of a record field's value (enums by value; anything else as the
    record's own row mapping renders it)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (str, int, float, datetime)):
        return value
    return values_of(dataclasses.replace(record, **{field: value}))[column]


# -- buffered inserts ---------------------------------------------------------------------

_SHAPES: dict[tuple[str, str], tuple[str, Any, tuple[int, ...]]] = {}


def _shape(table: Table, dialect_name: str, mark: str) -> tuple[str, Any, tuple[int, ...]]:
    """Per table and dialect, built once: the INSERT, a getter of a row's values in column
    order, and the positions of the time columns."""
    key = (table.name, dialect_name)
    shape = _SHAPES.get(key)
    if shape is None:
        names = [c.name for c in table.columns]
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        times = tuple(i for i, c in enumerate(table.columns) if isinstance(c.type, UtcDateTime))
        shape = _SHAPES[key] = (sql, itemgetter(*names), times)
    return shape


def _flush(conn: Connection, buffer: dict[Table, list[dict[str, Any]]], exact: bool) -> None:
    """Insert the buffered rows, decisions first; ``Retry`` if the database refuses them."""
    if not buffer:
        return
    try:
        for table in sorted(buffer, key=lambda t: t is not decisions):
            _insert_many(conn, table, buffer[table])
    except DBAPIError as exc:
        if exact:  # pragma: no cover - the exact way buffers nothing
            raise
        raise Retry from exc
    finally:
        buffer.clear()


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One ``executemany`` of ``rows``; on SQLite and PostgreSQL straight to the driver.

    The driver gets plain values, skipping SQLAlchemy's per-row type processing; the values
    are what that processing would give (``hashed_time`` text on SQLite, aware UTC times on
    PostgreSQL). (A multi-row ``INSERT ... VALUES (...), (...)`` was measured too: fewer GIL
    hand-offs, but twice the CPU per row in SQLite, and no gain in the gateway.)
    """
    dialect = conn.dialect
    mark = _MARK.get(dialect.paramstyle)
    if mark is None or dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover
        conn.execute(insert(table), rows)
        return
    sql, values, times = _shape(table, dialect.name, mark)
    convert = hashed_time if dialect.name == "sqlite" else to_utc
    params = []
    for r in rows:
        row = list(values(r))
        for i in times:
            if row[i] is not None:
                row[i] = convert(row[i])
        params.append(tuple(row))
    conn.exec_driver_sql(sql, params)
