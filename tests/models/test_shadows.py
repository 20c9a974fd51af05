"""Shadow models: called beside the primary, logged and never used, cut off at the deadline."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

from gateway.adapters.models.registry import ModelRegistry
from gateway.review.model_port import ModelFailure, ModelProposal
from tests.models.fake_servers import ChatServer

MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  primary:
    backend: python
    address: tests.models.sk_model:claims
    model: claims-lr
    deadline: 200ms
    input: [amount]
    labels: [approve, deny, partial]
    shadows: [challenger]
  challenger:
    backend: openai-chat
    address: {url}
    model: challenger
    deadline: 5s
    input: [amount]
    prompt: "Claim of {{amount}}: {{labels}}?"
    labels: [approve, deny, partial]
"""


def _run(tmp_path: Path, mode: str) -> tuple[ModelProposal, list]:
    with ChatServer({"deny": math.log(0.7), "approve": math.log(0.3)}) as chat:
        chat.mode = mode
        path = tmp_path / "models.yaml"
        path.write_text(MODELS.format(url=chat.url))

        async def go() -> tuple[ModelProposal, list]:
            registry = ModelRegistry(path)
            try:
                return await registry.propose("primary", {"amount": 10}, 5.0)
            finally:
                await registry.aclose()

        return asyncio.run(go())


class TestShadows:
    def test_shadow_logged_not_used(self, tmp_path: Path) -> None:
        """The primary's proposal is returned; the challenger's different answer comes back beside it."""
        primary, shadows = _run(tmp_path, "ok")
        assert primary.outcome == "approve"
        assert [(name, r.outcome) for name, r in shadows] == [("challenger", "deny")]

    def test_slow_shadow_cut_at_primary_deadline(self, tmp_path: Path) -> None:
        """A shadow slower than the primary's deadline is cancelled and logged as a timeout."""
        primary, shadows = _run(tmp_path, "slow")
        assert primary.outcome == "approve"
        ((name, result),) = shadows
        assert name == "challenger" and isinstance(result, ModelFailure) and result.kind == "timeout"


class TestShadowStats:
    def test_counts_agreement_with_primary_and_humans(self) -> None:
        """Two cases: the shadow disagrees with the primary on both; the human sided with the shadow once."""
        from gateway.reports.shadow import shadow_stats

        call = {"binding": "primary", "shadows": [{"binding": "challenger", "outcome": "deny"}]}
        rows = [({"outcome": "approve", "call": call}, "deny"), ({"outcome": "approve", "call": call}, "")]
        (s,) = shadow_stats(rows)
        assert (
            s["cases"],
            s["answered"],
            s["agree_primary"],
            s["labelled"],
            s["shadow_right"],
            s["primary_right"],
        ) == (2, 2, 0, 1, 1, 0)

    def test_stats_cli_through_gateway(self, tmp_path: Path) -> None:
        """Decisions through the real gateway record the shadow; signoff audit stats --shadow tabulates it."""
        import subprocess
        import sys

        import grpc

        from gateway.bootstrap import Settings, build_app, configure_logging
        from tests.conftest import ROOT, Client
        from tests.gateway.backends import copy_policies
        from tests.gateway.helpers import claim_request, decide

        with ChatServer({"deny": math.log(0.7), "approve": math.log(0.3)}) as chat:
            policies = copy_policies(tmp_path / "policies")
            claims = policies / "claims-triage.yaml"
            claims.write_text(claims.read_text() + "proposal: {source: model, binding: primary}\n")
            (tmp_path / "models.yaml").write_text(
                MODELS.replace("deadline: 200ms", "deadline: 5s").format(url=chat.url)
            )
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
                for amount in (10, 20):
                    req = claim_request(amount=amount)
                    req.ClearField("proposal")
                    decide(Client(channel, ""), req)
            finally:
                channel.close()
                app.stop()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "audit",
                "stats",
                "--shadow",
                f"sqlite:///{tmp_path / 's.db'}",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-500:]
        row = json.loads(out.stdout.splitlines()[0])
        assert (row["shadow"], row["cases"], row["answered"], row["agree_primary"]) == ("challenger", 2, 2, 0)
