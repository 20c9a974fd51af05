"""The OIP v2 REST backend against a real MLServer 1.7.1 serving a scikit-learn model trained here."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from gateway.adapters.models.backends import build_backend
from gateway.adapters.models.bindings import Binding
from gateway.adapters.models.caller import ModelCaller
from gateway.review.model_port import ModelFailure

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".mlserver-venv" / "bin"
pytestmark = pytest.mark.skipif(
    not (VENV / "mlserver").exists(), reason="MLServer is not installed: run tools/mlserver_env.sh (.ci/run does)"
)

TRAIN = """
import joblib, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
data = load_iris()
columns = int(sys.argv[2])
joblib.dump(LogisticRegression(max_iter=1000).fit(data.data[:, :columns], data.target), sys.argv[1])
"""
# The claims stand-in: iris's first three measurements read as amount, tenure and prior claims,
# its three species as approve, deny, partial. A real served sklearn model; not a claims model.
IRIS = Binding(
    name="iris",
    backend="oip-rest",
    address="",
    model="iris",
    version="1",
    deadline_s=10.0,
    input=("sepal_length", "sepal_width", "petal_length", "petal_width"),
    labels=("setosa", "versicolor", "virginica"),
    output={"probabilities": "predict_proba"},
)
FLOWER = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Served:
    """Where the test's MLServer answers: REST base URL and gRPC host:port."""

    url: str
    grpc: str


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """MLServer on free ports with the iris model (parallel_workers: 0: its pool crashes here with uvloop)."""
    root = tmp_path_factory.mktemp("mlserver")
    for name, columns in (("iris", 4), ("claims", 3)):
        model = root / name
        model.mkdir()
        subprocess.run([str(VENV / "python"), "-c", TRAIN, str(model / "model.joblib"), str(columns)], check=True)
        (model / "model-settings.json").write_text(
            json.dumps(
                {
                    "name": name,
                    "implementation": "mlserver_sklearn.SKLearnModel",
                    "parameters": {"uri": "./model.joblib", "version": "1"},
                }
            )
        )
    http, grpc_port, metrics = _port(), _port(), _port()
    (root / "settings.json").write_text(
        json.dumps(
            {
                "parallel_workers": 0,
                "host": "127.0.0.1",
                "http_port": http,
                "grpc_port": grpc_port,
                "metrics_port": metrics,
                "metrics_endpoint": None,
            }
        )
    )
    proc = subprocess.Popen(
        [str(VENV / "mlserver"), "start", str(root)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=(root / "log.txt").open("w"),
        env={**os.environ, "PATH": f"{VENV}:{os.environ['PATH']}"},
    )
    url = f"http://127.0.0.1:{http}"
    try:
        for _ in range(240):
            if proc.poll() is not None:
                pytest.fail(f"mlserver exited: {(root / 'log.txt').read_text()[-800:]}")
            try:
                if httpx.get(f"{url}/v2/models/iris/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("mlserver did not become ready")
        yield Served(url, f"127.0.0.1:{grpc_port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _propose(binding: Binding, input: dict):
    async def go():
        caller = ModelCaller(build_backend(binding))
        try:
            return await caller.propose(input, 10.0)
        finally:
            await caller.backend.aclose()

    return asyncio.run(go())


class TestMLServer:
    def test_served_model_proposes(self, mlserver: Served) -> None:
        """A setosa flower comes back setosa with its probability and the served version 1."""
        p = _propose(replace(IRIS, address=mlserver.url), FLOWER)
        assert (p.outcome, p.model_name, p.model_version) == ("setosa", "iris", "1")
        assert 0.5 < p.confidence <= 1.0 and sum(p.scores.values()) == pytest.approx(1.0)

    def test_version_pin_mismatch(self, mlserver: Served) -> None:
        """A binding pinned to a version the server does not serve fails (404 for that version)."""
        with pytest.raises(ModelFailure) as err:
            _propose(replace(IRIS, address=mlserver.url, version="2"), FLOWER)
        assert err.value.kind in ("http_4xx", "version")

    def test_unknown_model(self, mlserver: Served) -> None:
        """A model name the server does not have is a 4xx failure."""
        with pytest.raises(ModelFailure) as err:
            _propose(replace(IRIS, address=mlserver.url, model="nope", version=None), FLOWER)
        assert err.value.kind == "http_4xx"


MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-model:
    backend: oip-rest
    address: {url}
    model: claims
    version: "1"
    deadline: 10s
    input: [amount, policy_holder_tenure_years, prior_claims_12m]
    output: {{probabilities: predict_proba}}
    labels: [approve, deny, partial]
"""


class TestThroughGateway:
    def test_claims_payout_from_mlserver(self, mlserver: Served, tmp_path: Path) -> None:
        """claims.payout without a proposal: MLServer's model proposes, its version recorded, via real gRPC."""
        import grpc

        from gateway.bootstrap import Settings, build_app, configure_logging
        from tests.conftest import Client
        from tests.gateway.backends import copy_policies
        from tests.gateway.helpers import claim_request, decide

        policies = copy_policies(tmp_path / "policies")
        claims = policies / "claims-triage.yaml"
        claims.write_text(claims.read_text() + "proposal: {source: model, binding: claims-model}\n")
        (tmp_path / "models.yaml").write_text(MODELS.format(url=mlserver.url))
        configure_logging("warning")
        app = build_app(
            Settings(
                address="127.0.0.1:0",
                database_url=f"sqlite:///{tmp_path / 's.db'}",
                policy_dir=policies,
                principals_file=ROOT / "config" / "dev-principals.yaml",
                models_file=tmp_path / "models.yaml",
                reload_seconds=0.2,
                sweep_seconds=0.5,
            )
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            req = claim_request(amount=5.1, policy_holder_tenure_years=3, prior_claims_12m=1)
            req.ClearField("proposal")
            d = decide(Client(channel, ""), req)
        finally:
            channel.close()
            app.stop()
        assert (d.proposal.outcome, d.proposal.model, d.proposal.model_version) == ("approve", "claims", "1")
        assert 0.5 < d.proposal.confidence <= 1.0


GRPC_IRIS = replace(IRIS, backend="oip-grpc")


class TestMLServerOverGrpc:
    """The same served model through ``inference.GRPCInferenceService/ModelInfer``."""

    def test_served_model_proposes(self, mlserver: Served) -> None:
        """A setosa flower comes back setosa, with the probabilities and version 1, over gRPC."""
        p = _propose(replace(GRPC_IRIS, address=mlserver.grpc), FLOWER)
        assert (p.outcome, p.model_name, p.model_version) == ("setosa", "iris", "1")
        assert 0.5 < p.confidence <= 1.0 and sum(p.scores.values()) == pytest.approx(1.0)
        rest = _propose(replace(IRIS, address=mlserver.url), FLOWER)
        assert p.scores == pytest.approx(rest.scores)

    def test_version_pin_mismatch(self, mlserver: Served) -> None:
        """A pin the server does not serve is refused (a gRPC client error, or the version check)."""
        with pytest.raises(ModelFailure) as err:
            _propose(replace(GRPC_IRIS, address=mlserver.grpc, version="2"), FLOWER)
        assert err.value.kind in ("grpc_client", "version", "grpc_server")

    def test_unknown_model(self, mlserver: Served) -> None:
        """A model name the server does not have is refused, never a proposal."""
        with pytest.raises(ModelFailure) as err:
            _propose(replace(GRPC_IRIS, address=mlserver.grpc, model="nope", version=None), FLOWER)
        assert err.value.kind in ("grpc_client", "grpc_server")

    def test_nothing_listening_is_a_connection_failure(self) -> None:
        """A port with no server: connection (or timeout), routed to review like REST."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with pytest.raises(ModelFailure) as err:
            _propose(replace(GRPC_IRIS, address=f"127.0.0.1:{port}", deadline_s=2.0), FLOWER)
        assert err.value.kind in ("connection", "timeout")

    def test_claims_payout_through_the_gateway(self, mlserver: Served, tmp_path: Path) -> None:
        """claims.payout without a proposal, its proposal from MLServer over gRPC, through the real gateway."""
        import grpc

        from tests.conftest import Client, start_app
        from tests.gateway.backends import copy_policies
        from tests.gateway.helpers import claim_request, decide

        policies = copy_policies(tmp_path / "policies")
        claims = policies / "claims-triage.yaml"
        claims.write_text(claims.read_text() + "proposal: {source: model, binding: claims-model}\n")
        grpc_models = MODELS.replace("backend: oip-rest", "backend: oip-grpc").format(url=mlserver.grpc)
        (tmp_path / "models.yaml").write_text(grpc_models)
        app = start_app(f"sqlite:///{tmp_path / 's.db'}", policies, models_file=tmp_path / "models.yaml")
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")  # type: ignore[attr-defined]
        try:
            req = claim_request(amount=5.1, policy_holder_tenure_years=3, prior_claims_12m=1)
            req.ClearField("proposal")
            d = decide(Client(channel, ""), req)
        finally:
            channel.close()
            app.stop()  # type: ignore[attr-defined]
        assert (d.proposal.outcome, d.proposal.model, d.proposal.model_version) == ("approve", "claims", "1")
        assert 0.5 < d.proposal.confidence <= 1.0
