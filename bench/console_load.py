"""Benchmark: Decide over gRPC with and without 50 reviewers working through the HTTP console.

    .venv/bin/python bench/console_load.py                 # 15 s per phase (about 40 s)
    .venv/bin/python bench/console_load.py --think 0.5     # reviewers ten times faster than people: a stress
    .venv/bin/python bench/console_load.py --smoke         # a few seconds, for CI

One ``signoff serve --http-address`` (shipped policies, a fresh SQLite file in WAL with
``synchronous=FULL``, auth on, JSON logs at info to a file). Phase 1: the load generator
(``bench/_load.py drive``, its own process) sends the demo's claims mix (about 22% held) at a
fixed number of calls in flight. Phase 2: the same, while a second process runs N simulated
reviewers, each with its own console session (junior adjusters alice and erin, senior bob):
open the queue page, claim, open the case, approve, pause ``--think`` seconds, again. Reported:
Decide throughput and p99 in both phases, and the console's page latencies (p50, p99) by page.
The three processes share the machine's cores; the figures are timings only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._load import machine
from bench.decide_load import drive_process, process_result

REVIEWERS = (("dev-alice-token", "junior"), ("dev-erin-token", "junior"), ("dev-bob-token", "senior"))
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


class Gateway:
    """``signoff serve`` with the console on; the gRPC address and console URL from its stdout."""

    def __init__(self, db_url: str, log: Any) -> None:
        argv = [
            sys.executable,
            "-m",
            "gateway.cli",
            "serve",
            "--no-checkpoints",
            "--address",
            "127.0.0.1:0",
            "--db",
            db_url,
            "--policies",
            str(ROOT / "policies"),
            "--principals",
            str(ROOT / "config" / "dev-principals.yaml"),
            "--http-address",
            "127.0.0.1:0",
            "--log-level",
            "info",
            "--log-format",
            "json",
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        self.address = self.url = ""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (self.address and self.url):
            line = self.proc.stdout.readline()
            if not line:
                break
            if m := re.search(r"serving on (\S+)", line):
                self.address = m.group(1)
            if m := re.search(r"console on (\S+?)/?$", line.strip()):
                self.url = m.group(1)
        if not (self.address and self.url):
            self.stop()
            raise RuntimeError("the gateway did not start with its console")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def _sign_in(base: str, i: int) -> tuple[Any, str]:
    import httpx

    token, queue = REVIEWERS[i % len(REVIEWERS)]
    c = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=60)
    page = await c.get("/signin")
    r = await c.post("/signin", data={"token": token, "csrf": _CSRF.search(page.text).group(1)})  # type: ignore[union-attr]
    if r.status_code != 303:
        raise RuntimeError(f"sign-in failed: {r.status_code}")
    return c, queue


async def _reviewer(
    c: Any,
    queue: str,
    think: float,
    until: float,
    warm_until: float,
    pages: dict[str, list[float]],
    counts: dict[str, int],
) -> None:
    async def timed(kind: str, call: Any, ok: tuple[int, ...]) -> Any:
        t = time.perf_counter()
        resp = await call
        took = time.perf_counter() - t
        if time.monotonic() >= warm_until:
            pages[kind].append(took * 1000)
        if resp.status_code not in ok:
            counts["errors"] += 1
            key = f"{kind} {resp.status_code}"
            counts[key] = counts.get(key, 0) + 1  # type: ignore[assignment]
        return resp

    while time.monotonic() < until:
        qp = await timed("queue", c.get(f"/queues/{queue}"), (200,))
        claim = await timed(
            "claim", c.post(f"/queues/{queue}/claim", data={"csrf": _CSRF.search(qp.text).group(1)}), (200, 303, 409)
        )  # type: ignore[union-attr]
        if claim.status_code == 303:
            case = await timed("case", c.get(claim.headers["location"]), (200,))
            task = claim.headers["location"].rsplit("/", 1)[-1]
            done = await timed(
                "submit",
                c.post(
                    f"/tasks/{task}/submit",
                    data={"csrf": _CSRF.search(case.text).group(1), "action": "approve", "active_ms": "1000"},
                ),
                (303,),
            )  # type: ignore[union-attr]
            counts["signed_off"] += done.status_code == 303
        elif claim.status_code == 409:  # others took every candidate at the same instant: "claim again"
            counts["lost_races"] += 1
        else:
            counts["empty_claims"] += 1
        await asyncio.sleep(think)
    await c.aclose()


async def _reviewers(base: str, n: int, think: float, duration: float, warmup: float) -> dict[str, Any]:
    pages: dict[str, list[float]] = {k: [] for k in ("queue", "claim", "case", "submit")}
    counts = {"signed_off": 0, "empty_claims": 0, "lost_races": 0, "errors": 0}
    sessions = await asyncio.gather(*(_sign_in(base, i) for i in range(n)))
    print("ready", flush=True)  # every reviewer is signed in: the parent starts the Decide load now
    start = time.monotonic()
    await asyncio.gather(
        *(_reviewer(c, q, think, start + warmup + duration, start + warmup, pages, counts) for c, q in sessions)
    )
    every = [v for vs in pages.values() for v in vs]
    return {
        **counts,
        "pages": {k: {"n": len(v), "p50_ms": _pct(v, 0.5), "p99_ms": _pct(v, 0.99)} for k, v in pages.items()},
        "all": {"n": len(every), "p50_ms": _pct(every, 0.5), "p99_ms": _pct(every, 0.99)},
    }


def _reviewer_process(base: str, n: int, think: float, duration: float, warmup: float) -> subprocess.Popen[str]:
    argv = [
        sys.executable,
        __file__,
        "reviewers",
        "--url",
        base,
        "--reviewers",
        str(n),
        "--think",
        str(think),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
    ]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=("bench", "reviewers"), help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per phase (default 15)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each phase")
    parser.add_argument("--concurrency", type=int, default=16, help="Decide calls in flight (default 16)")
    parser.add_argument("--reviewers", type=int, default=50, help="simulated console reviewers (default 50)")
    parser.add_argument("--think", type=float, default=5.0, help="a reviewer's pause between cases, seconds")
    parser.add_argument("--smoke", action="store_true", help="about 2 s per phase (CI)")
    parser.add_argument("--profile", default=None, help="py-spy raw profile of the gateway during phase 2, to PATH")
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.warmup = 1.5, 0.5
    if args.mode == "reviewers":
        print(json.dumps(asyncio.run(_reviewers(args.url, args.reviewers, args.think, args.duration, args.warmup))))
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="signoff-console-bench-"))
    print(f"machine: {machine()}")
    print(
        f"load: Decide (claims mix, ~22% held) at {args.concurrency} in flight, {args.duration:g} s per phase "
        f"after {args.warmup:g} s warm-up; console: {args.reviewers} reviewers (alice, erin: junior; bob: senior), "
        f"think {args.think:g} s between cases; three processes share the cores",
        flush=True,
    )
    try:
        with (workdir / "gateway.log").open("w") as log:
            gw = Gateway(f"sqlite:///{workdir / 'signoff.db'}", log)
            try:
                alone = process_result(drive_process(gw.address, args.concurrency, args.duration, args.warmup, "alone"))
                print(f"  Decide alone:          {alone['rps']:8.0f} req/s  p99 {alone['p99_ms']:7.2f} ms", flush=True)
                rev = _reviewer_process(gw.url, args.reviewers, args.think, args.duration, args.warmup)
                if rev.stdout.readline().strip() != "ready":  # type: ignore[union-attr]
                    raise RuntimeError(f"reviewers did not sign in: {rev.communicate()[1].strip()[-500:]}")
                spy = None
                if args.profile:
                    spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "-p",
                            str(gw.proc.pid),
                            "-r",
                            "200",
                            "-f",
                            "raw",
                            "-o",
                            args.profile,
                            "--gil",
                            "--nonblocking",
                            "-d",
                            str(int(args.duration + args.warmup)),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                loaded = process_result(drive_process(gw.address, args.concurrency, args.duration, args.warmup, "with"))
                if spy is not None:
                    spy.wait()
                out, err = rev.communicate(timeout=args.duration + args.warmup + 120)
                if rev.returncode != 0:
                    raise RuntimeError(f"reviewers failed: {err.strip()[-500:]}")
                console = json.loads(out.strip().splitlines()[-1])
            finally:
                gw.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"  Decide with console:   {loaded['rps']:8.0f} req/s  p99 {loaded['p99_ms']:7.2f} ms", flush=True)
    ratio = loaded["rps"] / alone["rps"] if alone["rps"] else 0.0
    print()
    print("| phase | Decide req/s | Decide p99 ms | errors |")
    print("|---|---:|---:|---|")
    for name, r in (("Decide alone", alone), (f"Decide + {args.reviewers} console reviewers", loaded)):
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
        print(f"| {name} | {r['rps']:,.0f} | {r['p99_ms']:.2f} | {errors} |")
    print()
    print("| console page | requests | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for kind, p in (*console["pages"].items(), ("all pages", console["all"])):
        print(f"| {kind} | {p['n']:,} | {p['p50_ms']:.1f} | {p['p99_ms']:.1f} |")
    print()
    print(
        f"Decide throughput with the console's load: {ratio:.2f} of alone; console page p99 "
        f"{console['all']['p99_ms']:.1f} ms; sign-offs {console['signed_off']:,}, empty claims "
        f"{console['empty_claims']:,}, claims lost to a race (409) {console['lost_races']:,}, page errors {console['errors']}"
        + "".join(f", {k} x{v}" for k, v in console.items() if k[:1].isalpha() and " " in k)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
