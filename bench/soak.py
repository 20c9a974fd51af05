"""Soak: the gateway under steady Decide load with reviewers at work, watching memory and the log.

    .venv/bin/python bench/soak.py                 # 10 minutes at 300 Decide/s
    .venv/bin/python bench/soak.py --minutes 3 --rate 500
    .venv/bin/python bench/soak.py --smoke         # about 10 seconds, for CI

``signoff serve`` runs as in production (shipped policies, a fresh SQLite file in WAL with
``synchronous=FULL``, authentication on, JSON logs at info to a file, metrics on a port). A
separate client process starts Decide calls at a fixed rate (open loop, the demo's claims mix)
while reviewers claim and sign off the junior, senior and audit queues (ClaimNext, Submit). Every
interval this process reports the gateway's RSS (``/proc/PID/status`` VmRSS) and the queue depths
(a metrics scrape). At the end it checks that every decision id a caller got back has its
``decision_received`` event in the log, and that ``signoff audit verify`` passes. RSS must be
flat after warm-up: the growth across the last half is reported and flagged above 5%.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import Driver, machine
from bench.decide_load import Server, gateway_argv

REVIEWERS = (("junior", "dev-alice-token", 2), ("senior", "dev-bob-token", 1), ("audit", "dev-carol-token", 1))
RSS_FLAG = 0.05


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def queue_depths(metrics_url: str) -> dict[str, int]:
    """Tasks not done, by queue, from a metrics scrape."""
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'signoff_queue_depth\{queue="(\w+)"\} (\S+)', line)
        if m:
            out[m.group(1)] = int(float(m.group(2)))
    return out


# -- the client process: Decide at a rate, reviewers at work -----------------------------------


async def _reviewer(target: str, queue: str, token: str, stop: asyncio.Event, done: dict[str, int]) -> None:
    import grpc.aio

    from signoff.v1 import decision_pb2, review_pb2, review_pb2_grpc

    md = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = review_pb2_grpc.ReviewServiceStub(channel)
        while not stop.is_set():
            try:
                got = await stub.ClaimNext(review_pb2.ClaimNextRequest(queue=queue), metadata=md, timeout=30)
                if not got.HasField("task"):
                    await asyncio.sleep(0.2)
                    continue
                await stub.Submit(
                    review_pb2.SubmitRequest(
                        task_id=got.task.task_id,
                        action=decision_pb2.REVIEW_ACTION_APPROVE,
                        reason="soak review",
                    ),
                    metadata=md,
                    timeout=30,
                )
                done[queue] = done.get(queue, 0) + 1
            except grpc.aio.AioRpcError as exc:
                key = f"{queue}:{exc.code().name}"
                done[key] = done.get(key, 0) + 1
                await asyncio.sleep(0.2)


async def _client(args: argparse.Namespace) -> dict[str, Any]:
    driver = Driver(args.target, args.run, collect_ids=True)
    await driver.ready()
    stop = asyncio.Event()
    reviewed: dict[str, int] = {}
    reviewers = [
        asyncio.ensure_future(_reviewer(args.target, q, tok, stop, reviewed))
        for q, tok, n in REVIEWERS
        for _ in range(n)
    ]
    result = await driver.open_loop(args.rate, args.seconds)
    stop.set()
    await asyncio.gather(*reviewers)
    await driver.close()
    Path(args.ids_file).write_text("\n".join(driver.ids))
    result.update(reviewed=reviewed, acknowledged=len(driver.ids))
    return result


# -- the soak -----------------------------------------------------------------------------------


def check_log(db_path: Path, ids: set[str]) -> tuple[int, int]:
    """(acknowledged ids found as decision_received events, ids missing)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        logged = {r[0] for r in conn.execute("SELECT decision_id FROM audit_events WHERE type = 'decision_received'")}
    finally:
        conn.close()
    return len(ids & logged), len(ids - logged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    parser.add_argument("--rate", type=float, default=300.0, help="Decide calls started per second (default 300)")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between RSS reports (default 60)")
    parser.add_argument("--smoke", action="store_true", help="about 10 s at a low rate (CI)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        print(json.dumps(asyncio.run(_client(args))), flush=True)
        return 0
    if args.smoke:
        args.minutes, args.rate, args.interval = 10 / 60, 50.0, 2.0
    seconds = args.minutes * 60
    workdir = Path(tempfile.mkdtemp(prefix="signoff-soak-"))
    db_path = workdir / "signoff.db"
    ids_file = workdir / "ids.txt"
    print(f"machine: {machine()}")
    print(
        f"soak: {seconds:g} s at {args.rate:g} Decide/s (open loop, gateway.demo claims mix), reviewers "
        + ", ".join(f"{n}x {q}" for q, _, n in REVIEWERS)
        + "; SQLite WAL synchronous=FULL, auth on, "
        "logs at info, metrics on",
        flush=True,
    )
    ok = True
    try:
        with (workdir / "gateway.log").open("w") as log:
            gw = Server(gateway_argv(f"sqlite:///{db_path}"), stderr=log)
            try:
                client = subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--client",
                        "--target",
                        gw.address,
                        "--seconds",
                        str(seconds),
                        "--rate",
                        str(args.rate),
                        "--run",
                        uuid.uuid4().hex[:12],
                        "--ids-file",
                        str(ids_file),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                    cwd=ROOT,
                )
                start = time.monotonic()
                samples: list[tuple[float, int]] = [(0.0, rss_kib(gw.pid))]
                print(f"{'t (s)':>7} {'RSS MiB':>9}  queue depths", flush=True)
                print(f"{0:>7.0f} {samples[0][1] / 1024:>9.1f}  {queue_depths(gw.metrics_url)}", flush=True)
                next_at = start + args.interval
                while client.poll() is None:
                    time.sleep(min(0.5, max(0.0, next_at - time.monotonic())))
                    if time.monotonic() >= next_at and client.poll() is None:
                        t = time.monotonic() - start
                        samples.append((t, rss_kib(gw.pid)))
                        print(f"{t:>7.0f} {samples[-1][1] / 1024:>9.1f}  {queue_depths(gw.metrics_url)}", flush=True)
                        next_at += args.interval
                out, _ = client.communicate()
                t = time.monotonic() - start
                samples.append((t, rss_kib(gw.pid)))
                depths = queue_depths(gw.metrics_url)
                print(f"{t:>7.0f} {samples[-1][1] / 1024:>9.1f}  {depths}  (end)", flush=True)
            finally:
                gw.stop()
        if client.returncode != 0:
            raise RuntimeError("soak client failed")
        result = json.loads(out.strip().splitlines()[-1])
        ids = set(ids_file.read_text().split())
        found, missing = check_log(db_path, ids)
        verify = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "audit", "verify", "--db", f"sqlite:///{db_path}"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        log_lines = sum(1 for _ in (workdir / "gateway.log").open())
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    errors = ", ".join(f"{k} {v}" for k, v in result["errors"].items()) or "none"
    print(
        f"decide: {result['ok']:,} answered in {result['seconds']:.0f} s ({result['rps']:.0f}/s), "
        f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, p99.9 {result['p999_ms']:.1f} ms; errors: {errors}"
    )
    print("reviews signed off: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result["reviewed"].items())))
    print(f"queue depths at the end: {depths}; gateway log: {log_lines:,} JSON lines")
    print(
        f"log completeness: {found:,} of {len(ids):,} acknowledged decisions have decision_received; missing {missing}"
    )
    verify_line = (verify.stdout.strip() or verify.stderr.strip()).splitlines()
    print(f"chain: signoff audit verify exit {verify.returncode}: {verify_line[0] if verify_line else ''}")
    warm = [s for s in samples if s[0] >= samples[-1][0] * 0.2] or samples
    half = [s for s in samples if s[0] >= samples[-1][0] / 2] or samples[-1:]
    growth = (half[-1][1] - half[0][1]) / half[0][1] if half[0][1] else 0.0
    rss_ok = growth <= RSS_FLAG
    print(
        f"RSS after warm-up: {min(s[1] for s in warm) / 1024:.1f}-{max(s[1] for s in warm) / 1024:.1f} MiB; "
        f"growth across the last half ({half[0][0]:.0f}-{half[-1][0]:.0f} s): {growth:+.1%} "
        + ("(flat: <= 5%)" if rss_ok else "(FLAGGED: > 5%)")
    )
    ok = missing == 0 and verify.returncode == 0 and len(ids) > 0
    print("soak: " + ("OK" if ok and rss_ok else "FAILED" if not ok else "OK, RSS growth flagged"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
