"""Decide at 64 in flight, two checkouts of Signoff side by side, started alternately.

Shared-machine figures drift more from run to run than most changes move them; a change is
measured in pairs instead. Each run starts ``signoff serve`` from one checkout (its own code,
policies and development principals; a fresh SQLite file; auth, JSON logs and metrics on, as
``decide_load.py``), drives it with this checkout's ``_load.py drive`` for ``--seconds`` after
one second of warm-up, and reads the server's CPU from ``/proc``: the serving process and its
live children (the writer process of ``--writer process``, the default of ``signoff serve``), so
CPU per Decide counts the whole gateway either way.

Usage (the other checkout from ``git worktree add /tmp/before REV``)::

    .venv/bin/python bench/compare_trees.py /tmp/before . --pairs 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import family_cpu_seconds
from bench.decide_load import Server, drive_process, gateway_argv, process_result


def run(tree: Path, seconds: float, concurrency: int) -> dict[str, Any]:
    """One run of the gateway from ``tree`` (its own code on ``PYTHONPATH``); its figures."""
    work = Path(tempfile.mkdtemp(prefix="signoff-compare-"))
    with open(work / "gateway.log", "w") as log:
        server = Server(
            gateway_argv(f"sqlite:///{work}/signoff.db", tree=tree),
            stderr=log,
            env=dict(os.environ, PYTHONPATH=str(tree)),
            cwd=tree,
        )
        try:
            drv = drive_process(server.address, concurrency, seconds, 1.0, f"compare-{time.time_ns()}")
            time.sleep(1.2)
            c0, t0 = family_cpu_seconds(server.pid), time.perf_counter()
            time.sleep(seconds - 0.7)
            c1, t1 = family_cpu_seconds(server.pid), time.perf_counter()
            out = process_result(drv)
        finally:
            server.stop()
    out["cpu_us"] = 1e6 * (c1 - c0) / max(1.0, out["rps"] * (t1 - t0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="the checkout measured first in each pair")
    parser.add_argument("after", type=Path, help="the checkout measured second")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    trees = (args.before.resolve(), args.after.resolve())
    for tree in trees:
        if not (tree / "gateway" / "cli").is_dir():
            print(f"compare_trees: {tree} is not a Signoff checkout", file=sys.stderr)
            return 2
    print(f"load average {os.getloadavg()[0]:.2f} at start; {args.concurrency} in flight, {args.seconds:g} s per run")
    print(
        "| pair | before req/s | after req/s | after / before | before p50 / p99 ms | after p50 / p99 ms "
        "| before CPU µs/Decide | after CPU µs/Decide |"
    )
    print("|---|---:|---:|---:|---|---|---:|---:|")
    for i in range(1, args.pairs + 1):
        try:
            a, b = (run(t, args.seconds, args.concurrency) for t in trees)
        except RuntimeError as exc:  # a gateway that did not start, a driver that failed
            print(f"compare_trees: {exc}", file=sys.stderr)
            return 1
        print(
            f"| {i} | {a['rps']:,.0f} | {b['rps']:,.0f} | {b['rps'] / a['rps']:.2f} "
            f"| {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} "
            f"| {a['cpu_us']:,.0f} | {b['cpu_us']:,.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
