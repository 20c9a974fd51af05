"""Benchmark: Decide through the gateway with a model binding, against calling the same model directly.

    tools/mlserver_env.sh && .venv/bin/python bench/model_call.py          # 8 s per leg and level
    .venv/bin/python bench/model_call.py --smoke                           # about a second per leg

One run starts MLServer 1.7.1 (``.mlserver-venv``, ``parallel_workers: 0``) serving a
scikit-learn model trained here on iris, and a gateway in this process (real gRPC on port 0,
a fresh SQLite file with WAL and ``synchronous=FULL``, the shipped claims policy with
``proposal: {source: model}``). At 1 and 16 calls in flight it drives (a) the model directly
with OIP v2 REST infer calls over httpx and (b) Decide without a proposal through the gateway,
which calls the same model. It prints p50/p99 of each, the added latency and the throughput
ratio. Timings only; nothing asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VENV = ROOT / ".mlserver-venv" / "bin"
TRAIN = """
import joblib, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
d = load_iris()
joblib.dump(LogisticRegression(max_iter=1000).fit(d.data[:, :3], d.target), sys.argv[1])
"""
MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-model:
    backend: oip-rest
    address: {url}
    model: claims
    version: "1"
    deadline: 5s
    input: [amount, policy_holder_tenure_years, prior_claims_12m]
    output: {{probabilities: predict_proba}}
    labels: [approve, deny, partial]
"""
FEATURES = [5.1, 3.0, 1.0]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mlserver(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    model = root / "claims"
    model.mkdir(parents=True)
    subprocess.run([str(VENV / "python"), "-c", TRAIN, str(model / "model.joblib")], check=True)
    (model / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "claims",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib", "version": "1"},
            }
        )
    )
    http = _port()
    (root / "settings.json").write_text(
        json.dumps(
            {
                "parallel_workers": 0,
                "host": "127.0.0.1",
                "http_port": http,
                "grpc_port": _port(),
                "metrics_port": _port(),
                "metrics_endpoint": None,
            }
        )
    )
    proc = subprocess.Popen(
        [str(VENV / "mlserver"), "start", str(root)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{VENV}:{os.environ['PATH']}"},
    )
    url = f"http://127.0.0.1:{http}"
    for _ in range(240):
        try:
            if httpx.get(f"{url}/v2/models/claims/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("model_call: MLServer did not become ready")


async def _drive(call, inflight: int, seconds: float) -> tuple[list[float], float]:
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < end:
            t = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return latencies, time.perf_counter() - start


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


async def direct(url: str, inflight: int, seconds: float) -> tuple[list[float], float]:
    import httpx

    payload = {
        "inputs": [{"name": "input-0", "shape": [1, 3], "datatype": "FP64", "data": FEATURES}],
        "outputs": [{"name": "predict_proba"}],
    }
    async with httpx.AsyncClient() as client:

        async def call() -> None:
            r = await client.post(f"{url}/v2/models/claims/versions/1/infer", json=payload, timeout=5)
            r.raise_for_status()

        await call()
        return await _drive(call, inflight, seconds)


async def through_gateway(port: int, inflight: int, seconds: float) -> tuple[list[float], float]:
    import grpc

    from signoff.v1 import decision_pb2, decision_pb2_grpc
    from tests.gateway.helpers import auth

    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = decision_pb2_grpc.DecisionServiceStub(channel)
        meta = auth("caller")
        n = [0]

        async def call() -> None:
            n[0] += 1
            req = decision_pb2.DecideRequest(
                request_id=f"bench-{time.time_ns()}-{n[0]}", decision_type="claims.payout", subject_ref="s"
            )
            req.input.update(
                {"amount": FEATURES[0], "claim_type": "auto", "policy_holder_tenure_years": 3, "prior_claims_12m": 1}
            )
            await stub.Decide(req, metadata=meta, timeout=10)

        await call()
        return await _drive(call, inflight, seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    seconds = 1.0 if args.smoke else args.seconds
    if not (VENV / "mlserver").exists():
        print("model_call: MLServer is not installed; run tools/mlserver_env.sh", file=sys.stderr)
        return 2
    from gateway.bootstrap import Settings, build_app, configure_logging
    from tests.gateway.backends import copy_policies

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, url = start_mlserver(root / "mlserver")
        try:
            policies = copy_policies(root / "policies")
            claims = policies / "claims-triage.yaml"
            claims.write_text(claims.read_text() + "proposal: {source: model, binding: claims-model}\n")
            (root / "models.yaml").write_text(MODELS.format(url=url))
            configure_logging("warning")
            app = build_app(
                Settings(
                    address="127.0.0.1:0",
                    database_url=f"sqlite:///{root / 's.db'}",
                    policy_dir=policies,
                    principals_file=ROOT / "config" / "dev-principals.yaml",
                    models_file=root / "models.yaml",
                )
            )
            try:
                print(f"model_call: {seconds:g}s per leg; MLServer 1.7.1 REST; gateway SQLite WAL synchronous=FULL")
                for inflight in (1, 16):
                    d_lat, d_wall = asyncio.run(direct(url, inflight, seconds))
                    g_lat, g_wall = asyncio.run(through_gateway(app.port, inflight, seconds))
                    d_tp, g_tp = len(d_lat) / d_wall, len(g_lat) / g_wall
                    print(
                        f"in flight {inflight:>2}: direct p50 {_pct(d_lat, 0.5):.2f} ms p99 {_pct(d_lat, 0.99):.2f} ms "
                        f"{d_tp:.0f}/s | gateway p50 {_pct(g_lat, 0.5):.2f} ms p99 {_pct(g_lat, 0.99):.2f} ms "
                        f"{g_tp:.0f}/s | added p50 {_pct(g_lat, 0.5) - _pct(d_lat, 0.5):.2f} ms "
                        f"p99 {_pct(g_lat, 0.99) - _pct(d_lat, 0.99):.2f} ms, throughput ratio {g_tp / d_tp:.2f}"
                    )
            finally:
                app.stop()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
