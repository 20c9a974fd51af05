"""SLA timeouts on a real gateway: a held Decide that waits is answered EXPIRED when its queue's SLA lapses."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from prometheus_client import generate_latest

from gateway.bootstrap import Settings, build_app, configure_logging
from signoff.v1 import audit_pb2, decision_pb2
from tests.conftest import ROOT, Client, auth
from tests.gateway.helpers import claim_request, decide


@pytest.fixture
def fast_sla_app(tmp_path: Path, db_url: str):
    """A gateway whose claims policy gives the senior queue a one-second SLA that expires."""
    policies = tmp_path / "fast"
    policies.mkdir()
    text = (ROOT / "policies" / "claims-triage.yaml").read_text()
    text = text.replace(
        "    sla: {due: 2d, warn: 1d, on_timeout: {action: expire}}\n",
        "    sla: {due: 1s, on_timeout: {action: expire}}\n",
    )
    assert "due: 1s" in text
    (policies / "claims.yaml").write_text(text)
    configure_logging("warning")
    app = build_app(
        Settings(
            address="127.0.0.1:0",
            database_url=db_url,
            policy_dir=policies,
            principals_file=ROOT / "config" / "dev-principals.yaml",
            sweep_seconds=0.2,
        )
    )
    yield app
    app.stop()


class TestExpiredThroughGrpc:
    """The caller is told EXPIRED through Decide's wait and GetDecision; the log and metrics say why."""

    def test_waiting_caller_gets_expired(self, fast_sla_app):
        """A low-confidence claim waits in senior; after its SLA the waiting Decide returns EXPIRED."""
        with grpc.insecure_channel(f"127.0.0.1:{fast_sla_app.port}") as ch:
            client = Client(ch, "")
            d = decide(client, claim_request(confidence=0.5, wait=30))
            assert d.status == decision_pb2.DECISION_STATUS_EXPIRED and d.final_outcome == ""
            got = client.decisions.GetDecision(
                decision_pb2.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=30
            ).decision
            assert got.status == decision_pb2.DECISION_STATUS_EXPIRED
            events = client.audit.ListEvents(
                audit_pb2.ListEventsRequest(decision_id=d.decision_id), metadata=auth("carol"), timeout=30
            ).events
            assert [e.type for e in events][-2:] == ["timeout_action", "decision_finalized"]
        metrics = generate_latest(fast_sla_app.metrics.registry).decode()
        assert re.search(r'signoff_sla_breaches_total\{action="expire",queue="senior"\} 1\.0', metrics)
