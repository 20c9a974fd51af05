"""Benchmark: Decide through the gateway with a model binding, against calling the same model directly.

    tools/mlserver_env.sh && .venv/bin/python bench/model_call.py          # 8 s per leg and level
    .venv/bin/python bench/model_call.py --smoke                           # about a second per leg
    .venv/bin/python bench/model_call.py --transport grpc                  # only the OIP gRPC legs

One run starts MLServer 1.7.1 (``.mlserver-venv``, ``parallel_workers: 0``) serving a
scikit-learn model trained here on iris, and a gateway in this process (real gRPC on port 0,
a fresh SQLite file with WAL and ``synchronous=FULL``, the shipped claims policy with
``proposal: {source: model}``). At 1 and 16 calls in flight it drives (a) the model directly
with OIP v2 REST infer calls over httpx and (b) Decide without a proposal through the gateway,
which calls the same model, once per transport: OIP v2 over REST (``oip-rest``, direct calls
with httpx) and over gRPC (``oip-grpc``, direct calls with the generated ``ModelInfer`` stub). It
prints p50/p99 of each, the added latency and the throughput ratio. Timings only; nothing asserted.
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
    backend: {backend}
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


def start_mlserver(root: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """MLServer serving the claims stand-in: (process, REST base URL, gRPC host:port)."""
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
    http, grpc_port = _port(), _port()
    (root / "settings.json").write_text(
        json.dumps(
            {
                "parallel_workers": 0,
                "host": "127.0.0.1",
                "http_port": http,
                "grpc_port": grpc_port,
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
                return proc, url, f"127.0.0.1:{grpc_port}"
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


async def direct_grpc(address: str, inflight: int, seconds: float) -> tuple[list[float], float]:
    import grpc

    from signoff.oip.v2 import grpc_predict_v2_pb2 as pb
    from signoff.oip.v2 import grpc_predict_v2_pb2_grpc as pb_grpc

    request = pb.ModelInferRequest(
        model_name="claims",
        model_version="1",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name="input-0", datatype="FP64", shape=[1, 3], contents=pb.InferTensorContents(fp64_contents=FEATURES)
            )
        ],
        outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name="predict_proba")],
    )
    async with grpc.aio.insecure_channel(address) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)

        async def call() -> None:
            await stub.ModelInfer(request, timeout=5)

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
    parser.add_argument("--transport", choices=("rest", "grpc", "both"), default="both")
    args = parser.parse_args()
    seconds = 1.0 if args.smoke else args.seconds
    if not (VENV / "mlserver").exists():
        print("model_call: MLServer is not installed; run tools/mlserver_env.sh", file=sys.stderr)
        return 2
    from gateway.bootstrap import Settings, build_app, configure_logging
    from tests.gateway.backends import copy_policies

    transports = ("rest", "grpc") if args.transport == "both" else (args.transport,)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        proc, url, grpc_address = start_mlserver(root / "mlserver")
        try:
            policies = copy_policies(root / "policies")
            claims = policies / "claims-triage.yaml"
            claims.write_text(claims.read_text() + "proposal: {source: model, binding: claims-model}\n")
            configure_logging("warning")
            print(f"model_call: {seconds:g}s per leg; MLServer 1.7.1; gateway SQLite WAL synchronous=FULL")
            for transport in transports:
                backend, address = ("oip-rest", url) if transport == "rest" else ("oip-grpc", grpc_address)
                (root / f"models-{transport}.yaml").write_text(MODELS.format(backend=backend, url=address))
                app = build_app(
                    Settings(
                        address="127.0.0.1:0",
                        database_url=f"sqlite:///{root / f's-{transport}.db'}",
                        policy_dir=policies,
                        principals_file=ROOT / "config" / "dev-principals.yaml",
                        models_file=root / f"models-{transport}.yaml",
                        monitor_seconds=0,
                    )
                )
                try:
                    for inflight in (1, 16):
                        if transport == "rest":
                            d_lat, d_wall = asyncio.run(direct(url, inflight, seconds))
                        else:
                            d_lat, d_wall = asyncio.run(direct_grpc(grpc_address, inflight, seconds))
                        g_lat, g_wall = asyncio.run(through_gateway(app.port, inflight, seconds))
                        d_tp, g_tp = len(d_lat) / d_wall, len(g_lat) / g_wall
                        print(
                            f"{backend} in flight {inflight:>2}: direct p50 {_pct(d_lat, 0.5):.2f} ms "
                            f"p99 {_pct(d_lat, 0.99):.2f} ms {d_tp:.0f}/s | gateway p50 {_pct(g_lat, 0.5):.2f} ms "
                            f"p99 {_pct(g_lat, 0.99):.2f} ms {g_tp:.0f}/s | added p50 "
                            f"{_pct(g_lat, 0.5) - _pct(d_lat, 0.5):.2f} ms p99 "
                            f"{_pct(g_lat, 0.99) - _pct(d_lat, 0.99):.2f} ms, throughput ratio {g_tp / d_tp:.2f}"
                        )
                finally:
                    app.stop()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
