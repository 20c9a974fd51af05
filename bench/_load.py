"""Shared parts of the gateway benchmarks: the claims mix, the bare echo server, the load driver.

Run as a program it is one of two processes the benchmarks start, so neither shares a GIL
with the process it measures:

    python bench/_load.py echo                         # prints "echo: serving on 127.0.0.1:PORT"
    python bench/_load.py drive --target ADDR --concurrency 64 --duration 10 --run ID
                                                       # prints one JSON line of results

The driver is a ``grpc.aio`` client (cheaper per call than threads) that sends pre-serialised
``DecideRequest`` bytes, each with a fresh request id spliced in front, and keeps exactly
``concurrency`` calls in flight (closed loop), or, with ``--rate``, starts calls at a fixed
rate (open loop, the soak). Timings only: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a fresh clone
    sys.path.insert(0, str(ROOT))

DECIDE = "/signoff.v1.DecisionService/Decide"
CALLER_TOKEN = "dev-caller-token"
SEED = 2024


def machine() -> str:
    """Cores, CPU architecture, Python and grpcio: what every figure is quoted with."""
    import grpc

    return (
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), grpcio {grpc.__version__}, {platform.system()}"
    )


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def with_request_id(request_id: str, rest: bytes) -> bytes:
    """A serialised ``DecideRequest``: field 1 (request_id) spliced before the other fields."""
    rid = request_id.encode()
    return b"\x0a" + _varint(len(rid)) + rid + rest


def claim_templates(n: int = 2000, seed: int = SEED) -> list[tuple[bytes, str]]:
    """``n`` claims of the demo's day as ``(DecideRequest bytes without request_id, route)``.

    The mix is ``gateway.demo``'s: about 78% automatic, 15% junior and 7% senior review.
    """
    from gateway.demo import MODEL, MODEL_VERSION, claim_at, expected_route
    from signoff.v1 import decision_pb2

    out = []
    for i in range(n):
        c = claim_at(seed, i)
        req = decision_pb2.DecideRequest(
            decision_type="claims.payout",
            subject_ref=c.subject_ref,
            proposal=decision_pb2.Proposal(
                outcome=c.proposal,
                confidence=c.confidence,
                scores=dict(c.scores),
                model=MODEL,
                model_version=MODEL_VERSION,
                explanation=c.explanation(),
            ),
        )
        req.input.update(c.input())
        out.append((req.SerializeToString(), expected_route(c)))
    return out


def canned_response() -> bytes:
    """A ``DecideResponse`` as the gateway answers an automatic claim: the echo's reply."""
    from datetime import UTC, datetime

    from google.protobuf import timestamp_pb2

    from gateway.demo import MODEL, MODEL_VERSION, claim_at
    from signoff.v1 import decision_pb2

    c = claim_at(SEED, 0)
    now = timestamp_pb2.Timestamp()
    now.FromDatetime(datetime.now(UTC))
    d = decision_pb2.Decision(
        decision_id="7b0e4c9e-3f0a-4d8e-9a51-2f1c7a3e9b10",
        request_id="bench-0123456789abcdef-l64-0000123456",
        decision_type="claims.payout",
        subject_ref=c.subject_ref,
        status=decision_pb2.DECISION_STATUS_AUTO_DECIDED,
        final_outcome=c.proposal,
        route="auto",
        rule="confident",
        reasons=["confidence 0.9812 > 0.92", "High confidence on a claim under $50,000."],
        policy=decision_pb2.PolicyRef(name="claims-triage", version=1, digest="sha256:" + "ab" * 32),
        proposal=decision_pb2.Proposal(
            outcome=c.proposal,
            confidence=c.confidence,
            scores=dict(c.scores),
            model=MODEL,
            model_version=MODEL_VERSION,
            explanation=c.explanation(),
        ),
        sample_probability=0.02,
        significant=True,
        created_at=now,
        decided_at=now,
    )
    d.input.update(c.input())
    return decision_pb2.DecideResponse(decision=d).SerializeToString()


def _stat(path: str) -> list[str]:
    """The fields of a ``/proc/.../stat`` line after ``pid (comm)``: state, ppid, ..."""
    with open(path) as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """User plus system CPU seconds of a process, or of one of its threads, from ``/proc``."""
    fields = _stat(f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its live children (the gateway's writer process)."""
    total = cpu_seconds(pid)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat(f"/proc/{entry}/stat")
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


# -- the bare echo server ---------------------------------------------------------------------


def serve_echo() -> None:
    """The same server flavour as the gateway (``grpc.aio`` on one event loop, the same message
    limits), no guard: Decide parses the request and answers a canned ``DecideResponse`` of the
    gateway's size."""
    import grpc.aio

    from gateway.rpc.server import MAX_MESSAGE_BYTES
    from signoff.v1 import decision_pb2, decision_pb2_grpc

    reply = decision_pb2.DecideResponse.FromString(canned_response())

    class Echo(decision_pb2_grpc.DecisionServiceServicer):
        async def Decide(self, request: Any, context: Any) -> Any:
            return reply

    async def main() -> None:
        import signal

        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        decision_pb2_grpc.add_DecisionServiceServicer_to_server(Echo(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        print(f"echo: serving on 127.0.0.1:{port}", flush=True)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(server.stop(0)))
        await server.wait_for_termination()

    asyncio.run(main())


# -- the load driver ----------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, nearest rank; 0 when empty."""
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def summary(latencies: list[float], ok: int, errors: dict[str, int], seconds: float) -> dict[str, Any]:
    """Requests per second and latency percentiles (milliseconds) of one measured window."""
    lat = sorted(latencies)
    return {
        "ok": ok,
        "errors": errors,
        "seconds": round(seconds, 3),
        "rps": ok / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "p999_ms": percentile(lat, 0.999) * 1000,
    }


class Driver:
    """Sends Decide calls over a few channels; records latency of calls started in the window.

    ``ids`` collects the decision ids the gateway acknowledged (the soak checks the log holds
    every one); ``held`` counts answers that were not final.
    """

    def __init__(
        self, target: str, run: str, *, channels: int = 4, collect_ids: bool = False, separate: bool = False
    ) -> None:
        import grpc.aio

        # gRPC shares one connection among a process's channels to one target unless each has its
        # own subchannel pool; ``separate`` gives each its own, so SO_REUSEPORT can spread them.
        options = (("grpc.use_local_subchannel_pool", 1),) if separate else ()
        self.channels = [grpc.aio.insecure_channel(target, options=options) for _ in range(max(1, channels))]
        self.calls = [ch.unary_unary(DECIDE) for ch in self.channels]
        self.metadata = (("authorization", f"Bearer {CALLER_TOKEN}"),)
        self.templates = claim_templates()
        self.run = run
        self.n = 0
        self.collect_ids = collect_ids
        self.ids: list[str] = []
        self.latencies: list[float] = []
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.recording = False

    async def ready(self, timeout: float = 20.0) -> None:
        """Wait until every channel is connected."""
        await asyncio.wait_for(asyncio.gather(*(ch.channel_ready() for ch in self.channels)), timeout)

    async def one(self) -> None:
        """One Decide call with a fresh request id."""
        import grpc

        i = self.n
        self.n += 1
        body, _route = self.templates[i % len(self.templates)]
        payload = with_request_id(f"bench-{self.run}-{i:010d}", body)
        call = self.calls[i % len(self.calls)]
        record = self.recording
        started = time.perf_counter()
        try:
            reply = await call(payload, metadata=self.metadata, timeout=30)
        except grpc.aio.AioRpcError as exc:
            if record:
                name = exc.code().name
                self.errors[name] = self.errors.get(name, 0) + 1
            return
        took = time.perf_counter() - started
        if record:
            self.latencies.append(took)
            self.ok += 1
        if self.collect_ids:
            self.ids.append(_decision_id(reply))

    def _start_window(self) -> float:
        self.latencies, self.ok, self.errors, self.recording = [], 0, {}, True
        return time.perf_counter()

    async def closed_loop(self, concurrency: int, duration: float, warmup: float) -> dict[str, Any]:
        """Keep ``concurrency`` calls in flight for ``warmup`` + ``duration`` seconds."""
        end_warm = time.perf_counter() + warmup
        stop_at = end_warm + duration
        window: list[float] = []

        async def worker() -> None:
            while True:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                if not window and now >= end_warm:
                    window.append(self._start_window())
                await self.one()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - (window[0] if window else end_warm)
        self.recording = False
        return summary(self.latencies, self.ok, self.errors, elapsed)

    async def open_loop(self, rate: float, duration: float, on_tick: Any = None) -> dict[str, Any]:
        """Start ``rate`` calls per second for ``duration`` seconds (latency includes queueing)."""
        start = self._start_window()
        pending: set[asyncio.Task[None]] = set()
        sent = 0
        next_tick = start + 1.0
        while True:
            now = time.perf_counter()
            if now - start >= duration:
                break
            due = int((now - start) * rate) - sent
            for _ in range(max(0, due)):
                t = asyncio.ensure_future(self.one())
                pending.add(t)
                t.add_done_callback(pending.discard)
                sent += 1
            if on_tick is not None and now >= next_tick:
                next_tick += 1.0
                await on_tick(now - start)
            await asyncio.sleep(0.002)
        if pending:
            await asyncio.gather(*pending)
        elapsed = time.perf_counter() - start
        self.recording = False
        return summary(self.latencies, self.ok, self.errors, elapsed)

    async def close(self) -> None:
        """Close every channel."""
        await asyncio.gather(*(ch.close() for ch in self.channels))


def _decision_id(reply: bytes) -> str:
    from signoff.v1 import decision_pb2

    return decision_pb2.DecideResponse.FromString(reply).decision.decision_id


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    driver = Driver(args.target, args.run, channels=args.channels, separate=args.separate_connections)
    try:
        await driver.ready()
        return await driver.closed_loop(args.concurrency, args.duration, args.warmup)
    finally:
        await driver.close()


def main(argv: list[str] | None = None) -> int:
    """``echo`` or ``drive``; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("echo", help="run the bare echo server")
    d = sub.add_parser("drive", help="drive Decide at a fixed concurrency; print JSON")
    d.add_argument("--target", required=True)
    d.add_argument("--concurrency", type=int, default=16)
    d.add_argument("--duration", type=float, default=10.0)
    d.add_argument("--warmup", type=float, default=1.0)
    d.add_argument("--channels", type=int, default=4)
    d.add_argument(
        "--separate-connections", action="store_true", help="one TCP connection per channel (default: shared)"
    )
    d.add_argument("--run", required=True, help="unique run id, part of every request id")
    args = parser.parse_args(argv)
    if args.cmd == "echo":
        serve_echo()
        return 0
    print(json.dumps(asyncio.run(_drive(args))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
