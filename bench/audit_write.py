"""Audit events appended per second: group commit against one commit per event, durable.

Four ways of appending the same events, each on a fresh database migrated with the real
Alembic migrations (SQLite through ``make_engine``: WAL and ``synchronous=FULL``, nothing
loosened; with ``--postgres-url`` also a fresh PostgreSQL schema):

- ``append, 1 per commit``: ``AuditLog.append(conn, [event])`` in its own write transaction;
- ``append, N per commit``: ``AuditLog.append(conn, batch)`` with N events per transaction,
  for each N in ``--batch`` (256, 4096, 16384 and 65536): the group commit of a writer holding
  its batch (the target line names the batch size that reached it);
- ``SqlStore, 1 thread``: the gateway's unit of work, one caller, so every write is its own
  batch and its own commit;
- ``SqlStore, T threads``: ``--threads`` callers (64) each looping on
  ``await store.apply(Change(events=(event,)))``; the writer thread group-commits
  whatever queued meanwhile (up to ``batch_max`` 256 ops).

Each event writes its table row (``seq`` is the rowid) and four index entries (decision id,
decision type + time, type + time, time: the auditor's queries use each). SQLite has no unique
index on ``prev_hash`` since migration 0004 (``BEGIN IMMEDIATE`` already admits one writer at a
time); PostgreSQL keeps it. Events look like the gateway's ``routed`` event (a ~170-byte body). The SqlStore events carry
no decision id (their decision type is in the body), so the op does not look up a decision
row: what is timed is the store and the audit append, not a decisions-table read. Each mode
runs for ``--seconds``; the chain is verified afterwards (untimed) and must hold every event.

Usage::

    .venv/bin/python bench/audit_write.py
    .venv/bin/python bench/audit_write.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/audit_write.py --smoke       # a couple of seconds (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc
import sqlalchemy
from sqlalchemy import Engine, create_engine, make_url, text

from audit import AuditLog, NewEvent, canonical_json
from gateway.adapters import SqlStore
from gateway.adapters.db import WRITE, make_engine, upgrade
from gateway.review.change import Change

T0 = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)
LOG = AuditLog()


def machine() -> str:
    """One line naming what the figures were measured on."""
    return (
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}, "
        f"grpcio {grpc.__version__}; load average {os.getloadavg()[0]:.2f} at start"
    )


def _body(i: int) -> dict[str, Any]:
    confidence = 0.93 + (i % 7) / 100
    return {
        "decision_type": "claims.payout",
        "route": "auto",
        "rule": "confident",
        "reasons": [f"confidence {confidence:.2f} > 0.92"],
        "failed_closed": False,
        "significant": True,
    }


def new_events(n: int, start: int = 0) -> list[NewEvent]:
    """``n`` routed-like events, each about its own decision, a millisecond apart."""
    return [
        NewEvent(
            type="routed",
            time=T0 + timedelta(milliseconds=i),
            actor="gateway",
            decision_id=f"{uuid.UUID(int=i * 2654435761 % (1 << 128))}",
            policy_name="claims-triage",
            policy_version=1,
            policy_digest="sha256:" + "1" * 64,
            body=_body(i),
            decision_type="claims.payout",
        )
        for i in range(start, start + n)
    ]


def drafts(n: int) -> list[NewEvent]:
    """``n`` events for the SqlStore modes, their bodies canonical already (as use cases make them)."""
    return [
        NewEvent(
            type="routed",
            time=T0 + timedelta(milliseconds=i),
            actor="gateway",
            policy_name="claims-triage",
            policy_version=1,
            policy_digest="sha256:" + "1" * 64,
            body=_body(i),
            decision_type="claims.payout",
            body_json=canonical_json(_body(i)),
        )
        for i in range(n)
    ]


@contextmanager
def fresh_database(backend: str, postgres_url: str) -> Iterator[Engine]:
    """A migrated, empty database: a new SQLite file, or a new PostgreSQL schema dropped after."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="signoff-bench-") as tmp:
            engine = make_engine(f"sqlite:///{tmp}/audit.db")
            try:
                upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_append(engine: Engine, batch: int, seconds: float) -> tuple[int, float]:
    """``AuditLog.append`` of ``batch`` events per write transaction, for ``seconds``."""
    pool = new_events(max(batch, 4096))
    done, i = 0, 0
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            events = pool[i : i + batch]
            i = (i + batch) % (len(pool) - batch + 1)
            with conn.begin():
                LOG.append(conn, events)
            done += len(events)
            now = time.perf_counter()
            if now >= deadline:
                return done, now - start


def run_store(engine: Engine, threads: int, seconds: float) -> tuple[int, float, int]:
    """``threads`` concurrent callers on one event loop, each awaiting ``SqlStore.apply`` of
    one event at a time, for ``seconds``."""
    pool = drafts(4096)
    counts = [0] * threads
    store = SqlStore(engine)

    async def caller(k: int, deadline: float) -> None:
        n = 0
        while time.perf_counter() < deadline:
            await store.apply(Change(events=(pool[(k * 64 + n) % len(pool)],)))
            n += 1
        counts[k] = n

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(caller(k, start + seconds) for k in range(threads)))
        return time.perf_counter() - start

    try:
        elapsed = asyncio.run(main())
        return sum(counts), elapsed, store.committed_batches
    finally:
        store.close()


def check(engine: Engine, expected: int) -> None:
    """The log holds exactly ``expected`` events and its chain verifies."""
    report = LOG.verify(engine)
    if not report.ok or report.count != expected:
        raise SystemExit(f"chain check failed after the run: {report} (expected {expected})")


def measure(backend: str, postgres_url: str, args: argparse.Namespace) -> dict[str, float]:
    """Run every mode on ``backend`` and print one line per mode; return events/s by mode."""
    rates: dict[str, float] = {}
    modes: list[tuple[str, Callable[[Engine], tuple[int, float, str]]]] = []

    def append_mode(batch: int) -> Callable[[Engine], tuple[int, float, str]]:
        def run(engine: Engine) -> tuple[int, float, str]:
            n, s = run_append(engine, batch, args.seconds)
            return n, s, f"{n // batch} commits"

        return run

    def store_mode(threads: int) -> Callable[[Engine], tuple[int, float, str]]:
        def run(engine: Engine) -> tuple[int, float, str]:
            n, s, commits = run_store(engine, threads, args.seconds)
            return n, s, f"{commits} commits, {n / max(commits, 1):.1f} events per commit"

        return run

    modes.append(("append, 1 per commit", append_mode(1)))
    for batch in args.batches:
        modes.append((f"append, {batch} per commit", append_mode(batch)))
    modes.append(("SqlStore, 1 thread", store_mode(1)))
    modes.append((f"SqlStore, {args.threads} threads", store_mode(args.threads)))
    for name, run in modes:
        with fresh_database(backend, postgres_url) as engine:
            n, elapsed, note = run(engine)
            check(engine, n)
        rates[name] = n / elapsed
        print(
            f"{backend:<10} {name:<24} {n / elapsed:>10,.0f} events/s  ({n:,} events in {elapsed:.2f} s, {note})",
            flush=True,
        )
    single = rates["append, 1 per commit"]
    store_single = rates["SqlStore, 1 thread"]
    store_grouped = rates[f"SqlStore, {args.threads} threads"]
    for batch in args.batches:
        grouped = rates[f"append, {batch} per commit"]
        print(f"{backend:<10} ratio append {batch} per commit / 1 per commit: {grouped / single:,.1f}x")
    print(f"{backend:<10} ratio SqlStore {args.threads} threads / 1 thread: {store_grouped / store_single:,.1f}x")
    return rates


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print events per second for each mode and backend."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="duration of each mode (default 10)")
    p.add_argument(
        "--batch", default="256,4096,16384,65536", help="events per transaction for append (256,4096,16384,65536)"
    )
    p.add_argument("--threads", type=int, default=64, help="SqlStore caller threads (64)")
    p.add_argument("--postgres-url", default="", help="also run on this PostgreSQL database")
    p.add_argument("--smoke", action="store_true", help="a couple of seconds in all (CI)")
    args = p.parse_args(argv)
    args.batches = [int(b) for b in args.batch.split(",")]
    if args.smoke:
        args.seconds, args.threads = 0.25, 8
    print(machine())
    print(f"durability: SQLite WAL + synchronous=FULL (make_engine); {args.seconds:g} s per mode")
    results = {"sqlite": measure("sqlite", "", args)}
    if args.postgres_url:
        results["postgresql"] = measure("postgresql", args.postgres_url, args)
    target = 50_000
    grouped = {k: v for k, v in results["sqlite"].items() if k != "append, 1 per commit" and k != "SqlStore, 1 thread"}
    mode, best = max(grouped.items(), key=lambda kv: kv[1])
    verdict = "met" if best >= target else f"NOT met ({best / target:.0%} of it)"
    print(f"target >= {target:,} events/s on SQLite, durable, group commit: best {best:,.0f} ({mode}): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
