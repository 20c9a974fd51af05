"""Where a Decide's time goes: the gateway in-process, with and without its database write.

A diagnostic, not a yardstick (``decide_load.py`` is the yardstick). It builds the gateway
in this process exactly as ``signoff serve`` does (shipped policies, SQLite in WAL with
``synchronous=FULL``, authentication, JSON logs, metrics; ``gc.freeze()`` after start-up),
drives it from ``_load.py drive`` in another process at 64 calls in flight, and reports, for
the measured window:

- requests per second, p50 and p99;
- the gateway's CPU per Decide, and per thread (event loop, writer, others) as a share of a core;
- the writer's transactions: how many, operations per transaction, its CPU and wall time per
  transaction (wall well above CPU is time spent waiting, mostly for the GIL);
- the cyclic collector's pauses by generation.

``--mode no-store`` answers each write on the event loop without touching the database (the
op runs against a transaction that stores nothing): what the gateway costs without its durable
write, i.e. the ceiling of everything else. It is a measurement device only; the gateway has no
such mode. The same window is measured for the bare echo server of ``decide_load.py`` with
``--mode echo`` (a server process, CPU read from ``/proc``).

Usage::

    .venv/bin/python bench/decide_breakdown.py                    # real store
    .venv/bin/python bench/decide_breakdown.py --mode no-store
    .venv/bin/python bench/decide_breakdown.py --mode echo
    .venv/bin/python bench/decide_breakdown.py --no-freeze        # without gc.freeze()
    .venv/bin/python bench/decide_breakdown.py --smoke            # a couple of seconds (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOAD = ROOT / "bench" / "_load.py"

from bench._load import cpu_seconds as _cpu
from bench.decide_load import Server, drive_process, process_result


def _no_store(store: Any) -> None:
    """Answer ``apply`` on the loop, once per loop turn, without a database."""
    from gateway.review.change import Applied

    pending: list[asyncio.Future[Any]] = []

    def flush() -> None:
        batch = pending[:]
        pending.clear()
        for fut in batch:
            if not fut.done():
                fut.set_result(Applied())

    def apply(change: Any) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        if not pending:
            loop.call_soon(flush)
        pending.append(fut)
        return fut

    store.apply = apply


class _WriterClock:
    """Counts the writer's transactions and their thread CPU and wall time."""

    def __init__(self, store: Any) -> None:
        self.reset()
        original = store._apply_changes

        def timed(batch: list[Any]) -> Any:
            c, w = time.thread_time(), time.perf_counter()
            try:
                return original(batch)
            finally:
                self.cpu += time.thread_time() - c
                self.wall += time.perf_counter() - w
                self.n += 1
                self.ops += len(batch)

        store._apply_changes = timed

    def reset(self) -> None:
        self.cpu = self.wall = 0.0
        self.n = self.ops = 0


class _GcClock:
    """Pauses of the cyclic collector, by generation."""

    def __init__(self) -> None:
        self.reset()
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.worst = [0.0, 0.0, 0.0]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        g, took = info["generation"], time.perf_counter() - self._started
        self.count[g] += 1
        self.total[g] += took
        self.worst[g] = max(self.worst[g], took)


def _drive(address: str, seconds: float, concurrency: int) -> subprocess.Popen[str]:
    return drive_process(address, concurrency, seconds, 1.0, f"breakdown-{time.time_ns()}")


def run_echo(seconds: float, concurrency: int) -> None:
    server = Server([sys.executable, str(LOAD), "echo"], subprocess.DEVNULL)
    try:
        drv = _drive(server.address, seconds, concurrency)
        time.sleep(1.2)
        c0, t0 = _cpu(server.pid), time.perf_counter()
        time.sleep(seconds - 0.7)
        c1, t1 = _cpu(server.pid), time.perf_counter()
        out = process_result(drv)
    finally:
        server.stop()
    n = out["rps"] * (t1 - t0)
    print(
        f"echo: {out['rps']:,.0f} req/s  p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
        f"server CPU {1e6 * (c1 - c0) / n:.0f} µs per call ({100 * (c1 - c0) / (t1 - t0):.0f}% of a core)"
    )


def run_gateway(
    mode: str, seconds: float, concurrency: int, *, freeze: bool = True, writer_process: bool = False
) -> None:
    from gateway.bootstrap import Settings, build_app, configure_logging

    work = Path(tempfile.mkdtemp(prefix="signoff-breakdown-"))
    log = open(work / "gateway.log", "w")
    real_stderr, sys.stderr = sys.stderr, log
    configure_logging("info", json=True)
    app = build_app(
        Settings(
            address="127.0.0.1:0",
            database_url=f"sqlite:///{work}/signoff.db",
            policy_dir=ROOT / "policies",
            principals_file=ROOT / "config" / "dev-principals.yaml",
            metrics_port=0,
            writer_process=writer_process,
        )
    )
    if freeze:
        gc.collect()
        gc.freeze()  # as ``signoff serve`` does
    writer = _WriterClock(app.store)
    if mode == "no-store":
        _no_store(app.store)
    gcs = _GcClock()
    pid = os.getpid()
    try:
        drv = _drive(f"127.0.0.1:{app.port}", seconds, concurrency)
        time.sleep(1.2)
        names = {t.native_id: t.name for t in threading.enumerate()}
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        before = {t: _cpu(pid, t) for t in tids}
        writer.reset()
        gcs.reset()
        c0, t0 = _cpu(pid), time.perf_counter()
        time.sleep(seconds - 0.7)
        c1, t1 = _cpu(pid), time.perf_counter()
        after = {t: _cpu(pid, t) for t in tids if os.path.exists(f"/proc/{pid}/task/{t}")}
        out = process_result(drv)
    finally:
        app.stop()
        sys.stderr = real_stderr
        log.close()
    span = t1 - t0
    n = out["rps"] * span
    label = mode if freeze else f"{mode}, no gc.freeze"
    if writer_process:
        label += ", writer process"
    print(
        f"gateway ({label}): {out['rps']:,.0f} req/s  p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
        f"CPU {1e6 * (c1 - c0) / n:.0f} µs per Decide ({100 * (c1 - c0) / span:.0f}% of a core)  errors {out['errors']}"
    )
    shares: dict[str, float] = {}
    for tid, end in after.items():
        name = names.get(tid, "grpc and other native threads")
        if name.startswith("rpc_"):
            name = "rpc pool"
        shares[name] = shares.get(name, 0.0) + (end - before.get(tid, 0.0)) / span
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        if share >= 0.005:
            print(f"  thread {name:32s} {100 * share:5.1f}% of a core")
    if writer.n:
        print(
            f"  writer: {writer.n} transactions, {writer.ops / writer.n:.1f} ops each, "
            f"CPU {1e3 * writer.cpu / writer.n:.2f} ms and wall {1e3 * writer.wall / writer.n:.2f} ms per transaction"
        )
    print(
        "  gc pauses by generation: "
        + ", ".join(
            f"gen{g} {gcs.count[g]} x, {1e3 * gcs.total[g]:.1f} ms, worst {1e3 * gcs.worst[g]:.1f} ms" for g in range(3)
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("store", "no-store", "echo"), default="store")
    parser.add_argument(
        "--writer-process",
        action="store_true",
        help="the store's batches commit in a child process (as signoff serve does by default); its CPU is not "
        "counted in this process's figures",
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds (default 8)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="skip the gc.freeze() that signoff serve does after start-up (to see what it buys)",
    )
    parser.add_argument("--smoke", action="store_true", help="two seconds at 4 in flight (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.concurrency = 2.0, 4
    if args.mode == "echo":
        run_echo(args.seconds, args.concurrency)
    else:
        run_gateway(
            args.mode, args.seconds, args.concurrency, freeze=not args.no_freeze, writer_process=args.writer_process
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
