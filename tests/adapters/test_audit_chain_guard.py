"""Migration 0004: UNIQUE(prev_hash) on PostgreSQL only, and the chain still cannot fork."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import OperationalError

from audit import AuditLog, NewEvent
from gateway.adapters import make_engine, upgrade
from gateway.adapters.db import MIGRATIONS, WRITE

LOG = AuditLog()
T0 = datetime(2026, 11, 25, 9, 0, 0, 250000, tzinfo=UTC)
WRITERS = 2
BATCHES = 40
PER_BATCH = 3
PAUSE = 0.002
"""Seconds a writer rests between its transactions, so the other one gets the lock in between."""


def _events(writer: int, batch: int) -> list[NewEvent]:
    """``PER_BATCH`` events from ``writer``'s ``batch``-th append."""
    return [
        NewEvent(
            type="note",
            time=T0 + timedelta(milliseconds=batch * PER_BATCH + i),
            actor=f"writer-{writer}",
            decision_id=f"d-{writer}-{batch}-{i}",
            body={"writer": writer, "batch": batch, "i": i},
        )
        for i in range(PER_BATCH)
    ]


def _append_many(url: str, writer: int, start: multiprocessing.synchronize.Barrier) -> None:
    """One writer process: its own engine, ``BATCHES`` appends, each its own transaction."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execution_options(**WRITE)
            start.wait()
            for batch in range(BATCHES):
                with conn.begin():
                    LOG.append(conn, _events(writer, batch))
                time.sleep(PAUSE)
    finally:
        engine.dispose()


def _prev_hash_unique(engine: Engine) -> bool:
    """Whether a unique constraint or unique index covers ``prev_hash`` alone."""
    insp = inspect(engine)
    uniques = [u["column_names"] for u in insp.get_unique_constraints("audit_events")]
    uniques += [i["column_names"] for i in insp.get_indexes("audit_events") if i["unique"]]
    return ["prev_hash"] in uniques


def _alembic(conn: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


class TestPrevHashGuard:
    def test_unique_on_postgresql_only(self, engine: Engine) -> None:
        """At head, prev_hash is unique on PostgreSQL and not on SQLite."""
        assert _prev_hash_unique(engine) is (engine.dialect.name == "postgresql")

    def test_concurrent_writers_make_one_unforked_chain(self, db_url: str, engine: Engine) -> None:
        """Two processes appending to one database at once leave one chain that verifies."""
        ctx = multiprocessing.get_context("fork")
        start = ctx.Barrier(WRITERS)
        procs = [ctx.Process(target=_append_many, args=(db_url, w, start)) for w in range(WRITERS)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()

        assert [p.exitcode for p in procs] == [0] * WRITERS
        report = LOG.verify(engine)
        total = WRITERS * BATCHES * PER_BATCH
        assert report.ok and report.count == total and report.head_seq == total
        with engine.connect() as conn:
            distinct = conn.execute(text("SELECT count(DISTINCT prev_hash) FROM audit_events")).scalar()
            actors = conn.execute(text("SELECT actor, count(*) FROM audit_events GROUP BY actor")).all()
        assert distinct == total
        assert sorted(actors) == [(f"writer-{w}", BATCHES * PER_BATCH) for w in range(WRITERS)]


class TestSqliteWriters:
    def test_second_writer_waits_for_the_first_to_commit(self, tmp_path: object) -> None:
        """While one writer's append is uncommitted, another cannot begin; it then chains on top."""
        url = f"sqlite:///{tmp_path}/two.db"
        first, second = make_engine(url), make_engine(url)
        upgrade(first)
        try:
            with first.connect() as a, second.connect() as b:
                b.exec_driver_sql("PRAGMA busy_timeout=0")  # fail at once instead of waiting
                b.commit()
                a.execution_options(**WRITE)
                b.execution_options(**WRITE)
                ta = a.begin()
                mine = LOG.append(a, _events(0, 0))
                with pytest.raises(OperationalError, match="database is locked"):
                    b.begin()
                b.rollback()
                ta.commit()
                with b.begin():
                    theirs = LOG.append(b, _events(1, 0))

            assert theirs[0].seq == mine[-1].seq + 1 and theirs[0].prev_hash == mine[-1].hash
            report = LOG.verify(first)
            assert report.ok and report.count == 2 * PER_BATCH
        finally:
            first.dispose()
            second.dispose()


class TestMigration0004OnSqlite:
    @pytest.fixture
    def at_0003(self, tmp_path: object) -> Engine:
        """A SQLite file at revision 0003 holding a ten-event chain."""
        engine = make_engine(f"sqlite:///{tmp_path}/old.db")
        upgrade(engine, "0003")
        with engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                LOG.append(conn, _events(0, 0) + _events(0, 1) + _events(1, 0) + [_events(1, 1)[0]])
        return engine

    def test_upgrade_keeps_the_chain_and_the_triggers(self, at_0003: Engine) -> None:
        """Upgrading drops the unique constraint only: same rows, same hashes, still append-only."""
        assert _prev_hash_unique(at_0003)

        upgrade(at_0003)

        assert not _prev_hash_unique(at_0003)
        report = LOG.verify(at_0003)
        assert report.ok and report.count == 10
        with at_0003.connect() as conn:
            triggers = conn.execute(
                text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'")
            ).scalar()
            pk = conn.execute(text("SELECT name, pk FROM pragma_table_info('audit_events') WHERE pk")).all()
        assert triggers == 2 and pk == [("seq", 1)]
        at_0003.dispose()

    def test_downgrade_restores_the_constraint(self, at_0003: Engine) -> None:
        """Downgrading to 0003 puts UNIQUE(prev_hash) back and the chain still verifies."""
        upgrade(at_0003)

        with at_0003.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                command.downgrade(_alembic(conn), "0003")

        assert _prev_hash_unique(at_0003)
        report = LOG.verify(at_0003)
        assert report.ok and report.count == 10
        at_0003.dispose()
