"""Claiming and listing a queue read only its claimable tasks, never its whole history (SQLite plans)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, create_engine, event

from gateway.adapters import SqlStore, make_engine, upgrade
from tests.adapters.test_sql_store_contract import T0, apply, claim, decision, hold, task


def _task_selects(engine: Engine, run) -> list[tuple[str, tuple]]:  # type: ignore[no-untyped-def]
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM review_tasks" in statement:
            seen.append((statement, tuple(parameters)))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def test_claim_list_and_depths_search_an_index_instead_of_scanning_done_tasks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/plans.db"
    engine = make_engine(url)
    upgrade(engine)
    store = SqlStore(engine)
    try:
        for n in range(3):
            apply(store, hold(decision(n), task(n, age=n)))
        later = T0 + timedelta(minutes=1)
        selects = _task_selects(
            engine,
            lambda: (
                claim(store, "junior", "ana", later),
                store.read(lambda tx: tx.open_tasks("junior", later, 10)),
                store.read(lambda tx: tx.queue_depths(later)),
            ),
        )
    finally:
        store.close()
        engine.dispose()
    assert len(selects) >= 5  # two per claim, two per listing, one for the depths
    plain = create_engine(url)
    with plain.connect() as conn:
        for sql, params in selects:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert not any(line.startswith("SCAN review_tasks") for line in plan), (sql, plan)
            search = [line for line in plan if line.startswith("SEARCH review_tasks")]
            assert search and all("state=?" in line or "state>?" in line for line in search), (sql, plan)
    plain.dispose()


def test_the_request_key_lookup_of_a_batch_searches_the_unique_index(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The writer's one query for a batch's request keys uses (requested_by, request_id)'s
    index: a scan made every Decide's cost grow with the table."""
    url = f"sqlite:///{tmp_path}/keys.db"
    engine = make_engine(url)
    upgrade(engine)
    seen: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM decisions WHERE requested_by" in statement:
            seen.append((statement, tuple(parameters)))

    store = SqlStore(engine)
    event.listen(engine, "before_cursor_execute", capture)
    try:
        for n in range(3):
            apply(store, hold(decision(n)))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
        store.close()
        engine.dispose()
    assert len(seen) == 3
    plain = create_engine(url)
    with plain.connect() as conn:
        for sql, params in seen:
            plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
            assert not any(line.startswith("SCAN decisions") for line in plan), (sql, plan)
            assert any(line.startswith("SEARCH decisions USING") for line in plan), (sql, plan)
    plain.dispose()
