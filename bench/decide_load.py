"""Benchmark: Decide through the real gateway against a bare gRPC echo server, in one run.

    .venv/bin/python bench/decide_load.py                      # 10 s per level (about 1.5 minutes)
    .venv/bin/python bench/decide_load.py --postgres-url postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python bench/decide_load.py --smoke              # a few seconds, for CI

It starts, in turn, as subprocesses: (a) a bare echo server of the same flavour (sync
``grpc.server``, the same thread pool and message limits, no interceptor) answering a canned
``DecideResponse`` of the gateway's size, and (b) ``signoff serve`` with the shipped policies,
a fresh SQLite file (WAL, ``synchronous=FULL``), authentication on (development principals),
JSON logs at info to a file, and metrics on a port. One load generator (``bench/_load.py
drive``, a ``grpc.aio`` client in its own process) drives both at 1, 16 and 64 calls in flight
with the demo's claims mix (about 78% automatic, 22% held, unique request ids). The echo is the
yardstick: absolute figures drift on shared machines, the ratios much less. Timings only.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
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

from bench._load import machine

LOAD = ROOT / "bench" / "_load.py"
TARGET_THROUGHPUT = 0.60
TARGET_P99 = 2.0


class Server:
    """A server subprocess whose first stdout line names its address."""

    def __init__(self, argv: list[str], stderr: Any, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=cwd, env=env)
        self.address = ""
        self.metrics_url = ""
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"serving on (\S+)", line)
            if m:
                self.address = m.group(1)
            m = re.search(r"metrics on (\S+)", line)
            if m:
                self.metrics_url = m.group(1)
            if self.address and (self.metrics_url or "--metrics-port" not in argv):
                return
        self.stop()
        raise RuntimeError(f"server did not start: {' '.join(argv)}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def drive_process(
    address: str, concurrency: int, duration: float, warmup: float, run: str, *, separate: bool = False
) -> subprocess.Popen[str]:
    """Start one closed-loop level of the load generator in its own process (``separate``: one
    connection per channel, so several processes on one port each get some)."""
    argv = [
        sys.executable,
        str(LOAD),
        "drive",
        "--target",
        address,
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--run",
        run,
        *(["--separate-connections"] if separate else []),
    ]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def process_result(proc: subprocess.Popen[str], timeout: float = 300) -> dict[str, Any]:
    """The JSON line a load-generator process printed; ``RuntimeError`` if it failed."""
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.strip()}")
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def drive(
    address: str, concurrency: int, duration: float, warmup: float, run: str, *, separate: bool = False
) -> dict[str, Any]:
    """One closed-loop level in a separate client process."""
    proc = drive_process(address, concurrency, duration, warmup, run, separate=separate)
    return process_result(proc, duration + warmup + 120)


def gateway_argv(db_url: str, log_level: str = "info", tree: Path = ROOT) -> list[str]:
    """``signoff serve`` as in production (auth on, JSON logs, metrics on a port), with the
    policies and development principals of the checkout ``tree``."""
    # Checkpoints off, as before they existed (their cost: bench/checkpoint_cost.py); an older
    # checkout compared by compare_trees.py does not know the flag.
    serve_py = (tree / "gateway" / "cli" / "serve.py").read_text(encoding="utf-8")
    flags = ["--no-checkpoints"] if "--no-checkpoints" in serve_py else []
    return [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        *flags,
        "--address",
        "127.0.0.1:0",
        "--db",
        db_url,
        "--policies",
        str(tree / "policies"),
        "--principals",
        str(tree / "config" / "dev-principals.yaml"),
        "--metrics-port",
        "0",
        "--log-level",
        log_level,
        "--log-format",
        "json",
    ]


def scrape(url: str) -> dict[str, float]:
    """The decision counters of a Prometheus scrape, summed by route."""
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    routes: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r'signoff_decisions_total\{.*route="(\w+)".*\} (\S+)', line)
        if m:
            routes[m.group(1)] = routes.get(m.group(1), 0.0) + float(m.group(2))
    return routes


def postgres_schema(url: str) -> tuple[str, str]:
    """A fresh schema on ``url``: (the URL confined to it, the schema name)."""
    from sqlalchemy import create_engine, make_url, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    confined = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return confined.render_as_string(hide_password=False), schema


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_levels(
    name: str, address: str, levels: list[int], args: argparse.Namespace, run: str, pid: int | None = None
) -> list[dict[str, Any]]:
    rows = []
    for n in levels:
        spy = None
        if args.profile and name.startswith("gateway") and n == max(levels):
            out = Path(f"{args.profile}.{name.split()[-1].strip('()')}.txt")
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "250",
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                    "--gil",
                    "--nonblocking",
                    "-d",
                    str(int(args.duration + args.warmup + 1)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        result = drive(address, n, args.duration, args.warmup, f"{run}-l{n}", separate=args.replicas > 1)
        if spy is not None:
            spy.wait()
        result.update(server=name, concurrency=n)
        rows.append(result)
        print(
            f"  {name:<20} {n:>3} in flight: {result['rps']:8.0f} req/s  p50 {result['p50_ms']:7.2f} ms"
            f"  p99 {result['p99_ms']:7.2f} ms  p99.9 {result['p999_ms']:7.2f} ms"
            + (f"  errors {result['errors']}" if result["errors"] else ""),
            flush=True,
        )
    return rows


def personal_policies(workdir: Path) -> Path:
    """A copy of the shipped policies in which claims-triage marks ``region`` personal: every
    Decide of the demo mix then seals one field, under a new key (each claim has its own subject)."""
    target = workdir / "policies-personal"
    if not target.exists():
        shutil.copytree(ROOT / "policies", target)
        path = target / "claims-triage.yaml"
        text = path.read_text(encoding="utf-8")
        marked = text.replace(
            "    region:\n      type: string\n", "    region:\n      type: string\n      x-personal: true\n"
        )
        if marked == text:
            raise SystemExit("decide_load: claims-triage.yaml has no 'region: {type: string}' to mark personal")
        path.write_text(marked, encoding="utf-8")
    return target


def run_gateway(
    name: str,
    db_url: str,
    levels: list[int],
    args: argparse.Namespace,
    run: str,
    workdir: Path,
    writer: str = "process",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Serve ``db_url`` with ``--replicas`` processes on one port and drive every level.

    With more than one, the first binds port 0 and the others bind the same port: gRPC sets
    ``SO_REUSEPORT``, so the kernel spreads the client's connections over the processes. Each
    process has its own writer; the chain stays one (SQLite's write lock and PostgreSQL's
    advisory lock serialize appends, and each append reads the head inside its transaction).
    """
    log_paths = [workdir / f"gateway-{name}-{i}.log" for i in range(args.replicas)]
    logs = [p.open("w") for p in log_paths]
    servers: list[Server] = []
    try:
        shared = ["--reuse-port"] if args.replicas > 1 else []
        shared += ["--writer", writer]

        def argv_for(first: bool) -> list[str]:
            argv = gateway_argv(db_url, args.log_level) + shared
            if args.personal:  # the claims policy with `region` marked x-personal: sealed per subject
                argv[argv.index("--policies") + 1] = str(personal_policies(workdir))
            if args.checkpoints and first:  # signed checkpoints on, as `signoff serve` runs by default
                argv.remove("--no-checkpoints")
                argv += ["--init-signing-key", "--signing-key", str(workdir / f"{name}.key")]
                argv += ["--checkpoints-dir", str(workdir / f"checkpoints-{name}")]
            return argv

        servers.append(Server(argv_for(True), stderr=logs[0]))
        port = servers[0].address.rsplit(":", 1)[1]
        for log in logs[1:]:
            argv = argv_for(False)
            argv[argv.index("--address") + 1] = f"127.0.0.1:{port}"
            servers.append(Server(argv, stderr=log))
        label = f"gateway ({name})" if args.replicas == 1 else f"gateway ({name} x{args.replicas})"
        label = label[:-1] + ", checkpoints)" if args.checkpoints else label
        label = label[:-1] + ", personal)" if args.personal else label
        label = label[:-1] + ", writer thread)" if writer == "thread" else label
        rows = run_levels(label, servers[0].address, levels, args, run, servers[0].pid)
        routes: dict[str, float] = {}
        shares: list[float] = []
        for server in servers:
            scraped = scrape(server.metrics_url)
            shares.append(sum(scraped.values()))
            for route, count in scraped.items():
                routes[route] = routes.get(route, 0.0) + count
    finally:
        for server in servers:
            server.stop()
        for log in logs:
            log.close()
    lines = sum(sum(1 for _ in p.open()) for p in log_paths)
    size = sum(p.stat().st_size for p in log_paths)
    return rows, {"routes": routes, "log_lines": lines, "log_bytes": size, "per_replica": shares}


def _unique(taken: dict[str, Any], key: str) -> str:
    """``key``, or ``key #2``, ``#3`` ... when a repeated ``--writers`` entry ran it already."""
    n, out = 1, key
    while out in taken:
        n += 1
        out = f"{key} #{n}"
    return out


def fmt_table(rows: list[dict[str, Any]]) -> str:
    out = ["| server | in flight | req/s | p50 ms | p99 ms | p99.9 ms | errors |", "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        errors = ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "0"
        out.append(
            f"| {r['server']} | {r['concurrency']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['p999_ms']:.2f} | {errors} |"
        )
    return "\n".join(out)


def fmt_ratios(echo: list[dict[str, Any]], gateways: dict[str, list[dict[str, Any]]]) -> str:
    by_level = {r["concurrency"]: r for r in echo}
    out = ["| gateway / echo | in flight | throughput | p50 | p99 | p99.9 |", "|---|---:|---:|---:|---:|---:|"]
    for name, rows in gateways.items():
        for r in rows:
            e = by_level[r["concurrency"]]
            tp = r["rps"] / e["rps"] if e["rps"] else 0.0
            ratios = [r[k] / e[k] if e[k] else 0.0 for k in ("p50_ms", "p99_ms", "p999_ms")]
            out.append(
                f"| {name} | {r['concurrency']} | {tp:.2f} | {ratios[0]:.1f}x | {ratios[1]:.1f}x | {ratios[2]:.1f}x |"
            )
    return "\n".join(out)


def verdict(echo: list[dict[str, Any]], sqlite: list[dict[str, Any]], name: str = "sqlite") -> str:
    top = max(r["concurrency"] for r in sqlite)
    e = next(r for r in echo if r["concurrency"] == top)
    g = next(r for r in sqlite if r["concurrency"] == top)
    tp = g["rps"] / e["rps"] if e["rps"] else 0.0
    p99 = g["p99_ms"] / e["p99_ms"] if e["p99_ms"] else float("inf")
    met = lambda ok: "met" if ok else "NOT met"
    return (
        f"targets at {top} in flight, {name}, durable: throughput {tp:.2f} of echo "
        f"(>= {TARGET_THROUGHPUT:.2f}: {met(tp >= TARGET_THROUGHPUT)}); "
        f"p99 {p99:.2f}x echo (<= {TARGET_P99:.0f}x: {met(p99 <= TARGET_P99)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per level (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each level")
    parser.add_argument("--levels", default="1,16,64", help="calls in flight, comma-separated")
    parser.add_argument("--postgres-url", default=None, help="also run the gateway against this PostgreSQL")
    parser.add_argument("--smoke", action="store_true", help="about 1 s per level at small concurrency (CI)")
    parser.add_argument("--skip-echo", action="store_true", help="gateway only (while tuning; no ratios)")
    parser.add_argument("--log-level", default="info", help="gateway log level (production: info)")
    parser.add_argument(
        "--profile",
        default=None,
        help="py-spy raw profile (GIL holder only, non-blocking) of the gateway at the top "
        "level, to PATH.<backend>.txt",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    parser.add_argument(
        "--personal",
        action="store_true",
        help="mark the claims input's region x-personal: each Decide seals it under a new per-subject key",
    )
    parser.add_argument(
        "--checkpoints",
        action="store_true",
        help="serve with signed checkpoints (the default of `signoff serve`; the bench runs without)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="gateway processes sharing one port (SO_REUSEPORT) and one database (default 1)",
    )
    parser.add_argument(
        "--writers",
        default="process",
        help="the gateway's writer kinds to run, comma-separated (repeats allowed): process (the default "
        "of signoff serve) and/or thread (serve --writer thread)",
    )
    args = parser.parse_args(argv)
    writers = [w.strip() for w in args.writers.split(",") if w.strip()]
    if not writers or any(w not in ("thread", "process") for w in writers):
        parser.error("--writers: a comma-separated list of thread and process")
    if args.replicas < 1:
        parser.error("--replicas: must be at least 1")
    if args.smoke:
        args.duration, args.warmup, args.levels = 1.0, 0.3, "1,4"
    levels = [int(x) for x in args.levels.split(",")]
    run = uuid.uuid4().hex[:12]
    workdir = Path(tempfile.mkdtemp(prefix="signoff-bench-"))

    print(f"machine: {machine()}")
    print(
        f"load: gateway.demo claims mix (~78% auto, ~22% held), {args.duration:g} s per level after "
        f"{args.warmup:g} s warm-up, levels {levels}; grpc.aio client in its own process, 4 channels"
    )
    print(
        f"gateway: signoff serve, policies/, auth on, logs at {args.log_level} (JSON, to a file), "
        "metrics on; SQLite WAL synchronous=FULL",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    echo_rows: list[dict[str, Any]] = []
    gateways: dict[str, list[dict[str, Any]]] = {}
    extras: dict[str, dict[str, Any]] = {}
    try:
        if not args.skip_echo:
            with (workdir / "echo.log").open("w") as log:
                echo = Server([sys.executable, str(LOAD), "echo"], stderr=log)
                try:
                    echo_rows = run_levels("echo", echo.address, levels, args, run + "e", echo.pid)
                finally:
                    echo.stop()
            rows += echo_rows
        for writer in writers:
            key = _unique(gateways, "sqlite" if writer == "process" else "sqlite, writer thread")
            db_url = f"sqlite:///{workdir / f'signoff-{writer}.db'}"
            gateways[key], extras[key] = run_gateway(
                "sqlite", db_url, levels, args, run + "s" + writer[0], workdir, writer
            )
            rows += gateways[key]
        if args.postgres_url:
            for writer in writers:
                key = _unique(gateways, "postgresql" if writer == "process" else "postgresql, writer thread")
                url, schema = postgres_schema(args.postgres_url)
                try:
                    gateways[key], extras[key] = run_gateway(
                        "postgresql", url, levels, args, run + "p" + writer[0], workdir, writer
                    )
                finally:
                    drop_schema(args.postgres_url, schema)
                rows += gateways[key]
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work directory kept: {workdir}")

    print()
    print(fmt_table(rows))
    for name, extra in extras.items():
        routes = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(extra["routes"].items()))
        print(
            f"\ngateway ({name}): decisions by route (metrics scrape): {routes}; log: {extra['log_lines']:,} JSON lines"
        )
        if len(extra["per_replica"]) > 1:
            print(f"  decisions per replica: {', '.join(f'{n:,.0f}' for n in extra['per_replica'])}")
    if echo_rows:
        print()
        print(fmt_ratios(echo_rows, gateways))
        print()
        for key in gateways:
            if key.startswith("sqlite"):
                print(verdict(echo_rows, gateways[key], key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
