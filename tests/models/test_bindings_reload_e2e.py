"""The models file reloads like the policies: a good edit takes effect, a bad one keeps the last good set."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import grpc

from signoff.v1 import decision_pb2
from tests.conftest import Client, eventually, start_app
from tests.gateway.backends import copy_policies
from tests.gateway.helpers import claim_request, decide

MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-model:
    backend: {backend}
    address: tests.models.sk_model:claims
    model: claims-lr
    version: "{version}"
    deadline: 5s
    input: [amount, policy_holder_tenure_years]
    labels: [approve, deny, partial]
"""


def _refused(port: int) -> float:
    """The refused-reload counter from /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    line = next(x for x in text.splitlines() if x.startswith("signoff_model_bindings_reload_errors_total "))
    return float(line.split()[1])


def _write(path: Path, text: str) -> None:
    """Replace the file whole (as an editor or a config rollout does), with a new mtime."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


class TestBindingsReload:
    """``serve --models`` re-reads the file when it changes."""

    def test_bad_edit_is_refused_and_good_edit_applies(self, tmp_path: Path) -> None:
        """A broken file is counted and ignored (the model still proposes); a new pin then applies."""
        policies = copy_policies(tmp_path / "policies")
        claims = policies / "claims-triage.yaml"
        claims.write_text(claims.read_text() + "proposal: {source: model, binding: claims-model}\n")
        models = tmp_path / "models.yaml"
        models.write_text(MODELS.format(backend="python", version="1"))
        app = start_app(f"sqlite:///{tmp_path / 's.db'}", policies, models_file=models, metrics_port=0)
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")  # type: ignore[attr-defined]
        client = Client(channel, "")

        def claim() -> decision_pb2.Decision:
            req = claim_request(amount=300, policy_holder_tenure_years=3)
            req.ClearField("proposal")
            return decide(client, req)

        try:
            assert claim().proposal.model_version == "1"
            _write(models, MODELS.format(backend="carrier-pigeon", version="1"))
            assert eventually(lambda: _refused(app.metrics_port) == 1.0)  # type: ignore[attr-defined]
            kept = claim()
            assert (kept.proposal.outcome, kept.proposal.model_version) == ("approve", "1")
            _write(models, MODELS.format(backend="python", version="2"))
            assert eventually(lambda: claim().route != "auto")
            pinned = claim()
        finally:
            channel.close()
            app.stop()  # type: ignore[attr-defined]
        assert pinned.route != "auto" and any("model_version" in r for r in pinned.reasons), pinned.reasons
