"""`signoff demo --model`: the seed's claims day with every proposal from the served model."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from gateway import demo
from tests.conftest import ROOT


class TestDemoWithModel:
    """The demo starts a gateway whose claims policy calls the model, and sends inputs only."""

    def test_every_proposal_comes_from_the_model(self, tmp_path: Path) -> None:
        """The day runs, the chain verifies, and each decision's log records the model call that proposed it."""
        run = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "demo", "--model", "--claims", "300", "--model-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        assert "asks the served model" in run.stdout and "audit chain: ok" in run.stdout
        assert "routes matching the policy thresholds: 300/300" in run.stdout
        con = sqlite3.connect(tmp_path / "signoff.db")
        try:
            bodies = [
                json.loads(b)
                for (b,) in con.execute(
                    "SELECT body_json FROM audit_events WHERE type = 'decision_received' AND decision_type = ?",
                    ("claims.payout",),
                )
            ]
        finally:
            con.close()
        assert len(bodies) >= 300
        calls = [b["proposal"]["call"] for b in bodies]
        assert {c["binding"] for c in calls} == {"claims-demo-model"}
        assert {c["model_version"] for c in calls} == {demo.MODEL_VERSION}
        for body in bodies:  # what the gateway routed on is what the model said for this input
            assert body["proposal"]["outcome"] == demo.served_model(body["input"])["outcome"]


class TestServedModel:
    """The served model reads the input: its proposal is a function of the features alone."""

    def test_same_input_same_proposal_and_calibrated(self) -> None:
        """A claim's JSON input gives the proposal ``served`` gave the claim; right as often as it is sure."""
        claims = [demo.served(c) for c in demo.generate(4000, 7)]
        for c in claims[:50]:
            assert demo.served_model(json.loads(json.dumps(c.input())))["outcome"] == c.proposal
        right = sum(c.correct for c in claims) / len(claims)
        mean_conf = sum(c.confidence for c in claims) / len(claims)
        assert abs(right - mean_conf) < 0.02, (right, mean_conf)
