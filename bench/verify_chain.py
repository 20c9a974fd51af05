"""Seconds per million events for ``signoff audit verify``, the whole chain walked from disk.

A fresh database (a SQLite file made with ``make_engine`` + ``upgrade``: WAL, ``synchronous=FULL``;
with ``--postgres-url`` also a fresh PostgreSQL schema) is filled with ``--events`` chained
events (1M): a claims-like mix of ``decision_received`` (~400-byte body), ``routed`` and
``decision_finalized`` events, chained in Python with ``audit.chain.chain`` and bulk-inserted
with the driver's ``executemany`` (PostgreSQL: ``COPY``), exactly as ``AuditLog.append``
stores them. Then, ``--repeats`` times each (warm page cache):

- ``cli``: ``gateway.cli.main(["audit", "verify", "--db", URL, "--workers", W])`` in this
  process, what an auditor runs (engine creation, the walk, the printed verdict), with W the
  core count (``--workers``; seq ranges walked by forked processes) and, alternating run by run
  for a fair ratio, with one walk (``--workers 1``);
- ``AuditLog.verify``: the walk alone, on an engine made beforehand.

It prints the best and median seconds, the seconds per million events, and checks the verdict
(ok, every event counted). ``--db PATH`` keeps the SQLite file and reuses it when it already
holds the requested number of events.

Usage::

    .venv/bin/python bench/verify_chain.py
    .venv/bin/python bench/verify_chain.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/verify_chain.py --smoke        # 20k events, a couple of seconds (CI)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import grpc
import sqlalchemy
from sqlalchemy import Engine, create_engine, make_url, text

from audit import GENESIS, AuditLog, Event, NewEvent, chain
from audit.verify import STORED_COLUMNS, column_values
from gateway.adapters.db import make_engine, upgrade
from gateway.cli import main as signoff

T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=UTC)
CHUNK = 20_000


def machine() -> str:
    """One line naming what the figures were measured on."""
    return (
        f"machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}, "
        f"grpcio {grpc.__version__}; load average {os.getloadavg()[0]:.2f} at start"
    )


def events(start: int, n: int) -> list[NewEvent]:
    """Events ``start`` .. ``start + n - 1`` of the workload: three per decision."""
    out: list[NewEvent] = []
    for i in range(start, start + n):
        d, kind = divmod(i, 3)
        did = str(uuid.UUID(int=(d * 0x9E3779B97F4A7C15) % (1 << 128)))
        at = T0 + timedelta(milliseconds=43 * d + kind)
        confidence = 0.5 + (d % 50) / 100
        common = {
            "decision_id": did,
            "policy_name": "claims-triage",
            "policy_version": 1 + d // 500_000,
            "policy_digest": "sha256:" + "1" * 64,
            "decision_type": "claims.payout",
            "time": at,
        }
        if kind == 0:
            body: dict[str, Any] = {
                "request_id": f"req-{d}",
                "decision_type": "claims.payout",
                "subject_ref": f"subj-{d % 9973}",
                "input": {"amount": 1000 + (d * 37) % 60000, "claim_type": "auto", "region": "north"},
                "proposal": {
                    "outcome": "approve",
                    "confidence": confidence,
                    "scores": {"approve": confidence},
                    "model_name": "claims-gbm",
                    "model_version": "2026.1",
                    "explanation": "amount and history within the usual range",
                },
                "requested_by": "claims-service",
                "request_digest": "sha256:" + f"{d:064x}"[-64:],
            }
            out.append(NewEvent(type="decision_received", actor="claims-service", body=body, **common))
        elif kind == 1:
            route = "auto" if confidence > 0.92 else "junior"
            body = {
                "decision_type": "claims.payout",
                "route": route,
                "rule": "confident" if route == "auto" else "band",
                "reasons": [f"confidence {confidence:.2f}"],
                "failed_closed": False,
                "significant": True,
            }
            out.append(NewEvent(type="routed", actor="gateway", body=body, **common))
        else:
            body = {
                "decision_type": "claims.payout",
                "status": "AUTO_DECIDED",
                "final_outcome": "approve",
                "final_payload": {},
                "action": "",
                "reviewer": "",
                "reason": "",
                "by": "auto",
            }
            out.append(NewEvent(type="decision_finalized", actor="gateway", body=body, **common))
    return out


def chained(n: int) -> Iterator[list[Event]]:
    """The ``n`` events chained from the genesis, ``CHUNK`` at a time."""
    seq, head = 0, GENESIS
    while seq < n:
        part = chain(events(seq, min(CHUNK, n - seq)), seq, head)
        seq, head = part[-1].seq, part[-1].hash
        yield part


def _sqlite_time(e: Event) -> str:
    """The text ``UtcDateTime`` stores for a UTC time on SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return e.time.isoformat(" ", "microseconds")[:26]


def fill_sqlite(engine: Engine, n: int) -> None:
    """Insert ``n`` chained events with the driver's ``executemany``, in one transaction."""
    raw = engine.raw_connection()
    try:
        con: Any = raw.driver_connection
        sql = f"INSERT INTO audit_events ({', '.join(STORED_COLUMNS)}) VALUES ({', '.join('?' * len(STORED_COLUMNS))})"
        con.execute("BEGIN IMMEDIATE")
        for part in chained(n):
            con.executemany(
                sql,
                [column_values(e, _sqlite_time(e)) for e in part],
            )
        con.execute("COMMIT")
    finally:
        raw.close()


def fill_postgres(engine: Engine, n: int) -> None:
    """Insert ``n`` chained events with ``COPY``, in one transaction."""
    raw = engine.raw_connection()
    try:
        con: Any = raw.driver_connection
        sql = f"COPY audit_events ({', '.join(STORED_COLUMNS)}) FROM STDIN"
        with con.cursor() as cur, cur.copy(sql) as copy:
            for part in chained(n):
                for e in part:
                    copy.write_row(column_values(e, e.time))
        con.commit()
    finally:
        raw.close()


def count(engine: Engine) -> int:
    """How many events the database holds."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())


@contextlib.contextmanager
def database(backend: str, n: int, args: argparse.Namespace) -> Iterator[str]:
    """The URL of a migrated database holding ``n`` chained events."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="signoff-verify-") as tmp:
            path = Path(args.db) if args.db else Path(tmp) / "audit.db"
            url = f"sqlite:///{path}"
            engine = make_engine(url)
            try:
                upgrade(engine)
                if count(engine) != n:
                    if count(engine):
                        raise SystemExit(f"{path} holds another number of events; remove it first")
                    started = time.perf_counter()
                    fill_sqlite(engine, n)
                    print(f"sqlite     loaded {n:,} events in {time.perf_counter() - started:.1f} s", flush=True)
            finally:
                engine.dispose()
            yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url)
    try:
        upgrade(engine)
        started = time.perf_counter()
        fill_postgres(engine, n)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE audit_events"))
        print(f"postgresql loaded {n:,} events in {time.perf_counter() - started:.1f} s", flush=True)
        engine.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def timed(run: Callable[[], object], repeats: int) -> tuple[list[tuple[float, float]], object]:
    """(wall, CPU) seconds of ``repeats`` runs, and the last run's result.

    CPU is this process's time plus its workers' (``os.times``): on a shared machine wall time
    also counts the other processes' turns, CPU time does not.
    """
    times: list[tuple[float, float]] = []
    result: object = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        result = run()
        times.append((time.perf_counter() - wall, _cpu() - cpu))
    return times, result


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the parallel walk's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(backend: str, n: int, args: argparse.Namespace) -> float:
    """Time the CLI and the library walk on ``backend``; print them; return the CLI's s per 1M."""
    with database(backend, n, args) as url:

        def cli(workers: int) -> Callable[[], tuple[int, str]]:
            def run() -> tuple[int, str]:
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    code = signoff(["audit", "verify", "--db", url, "--workers", str(workers)])
                return code, out.getvalue()

            return run

        # The one-walk and the parallel CLI alternate, run by run, so both see the same load.
        cli_times: list[tuple[float, float]] = []
        one_times: list[tuple[float, float]] = []
        for _ in range(args.repeats):
            for into, workers in ((cli_times, args.workers), (one_times, 1)):
                (t,), (code, printed) = timed(cli(workers), 1)  # type: ignore[misc]
                if code != 0 or f"chain ok: {n} events" not in printed:
                    raise SystemExit(f"signoff audit verify did not verify the chain: exit {code}: {printed}")
                into.append(t)
        engine = make_engine(url)
        try:
            lib_times, report = timed(lambda: AuditLog().verify(engine, workers=args.workers), args.repeats)
        finally:
            engine.dispose()
        if not (report.ok and report.count == n):  # type: ignore[attr-defined]
            raise SystemExit(f"AuditLog.verify did not verify the chain: {report}")
        for name, times in (
            (f"signoff audit verify --workers {args.workers}", cli_times),
            ("signoff audit verify --workers 1", one_times),
            (f"AuditLog.verify, workers={args.workers}", lib_times),
        ):
            walls = [w for w, _ in times]
            best, median = min(walls), statistics.median(walls)
            cpu = min(c for _, c in times)
            print(
                f"{backend:<10} {name:<34} {n:>9,} events: wall best {best:.3f} s, median {median:.3f} s "
                f"({args.repeats} runs) = {best / n * 1e6:.2f} s per million events; "
                f"CPU best {cpu:.3f} s = {cpu / n * 1e6:.2f} s per million",
                flush=True,
            )
        return min(w for w, _ in cli_times) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    """Build the chain, time its verification, and print seconds per million events."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1_000_000, help="events in the log (1,000,000)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs of each (3)")
    p.add_argument("--postgres-url", default="", help="also run on this PostgreSQL database")
    p.add_argument("--db", default="", help="keep (and reuse) the SQLite file at this path")
    p.add_argument("--smoke", action="store_true", help="20k events, one run each (CI)")
    p.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the parallel walk (default: the core count)",
    )
    args = p.parse_args(argv)
    if args.smoke:
        args.events, args.repeats = 20_000, 1
    print(machine())
    sqlite_rate = measure("sqlite", args.events, args)
    if args.postgres_url:
        measure("postgresql", args.events, args)
    target = 2.0
    verdict = "met" if sqlite_rate <= target else f"NOT met ({sqlite_rate / target:.2f}x the budget)"
    print(f"target <= {target:g} s per million events (signoff audit verify, SQLite): {sqlite_rate:.2f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
