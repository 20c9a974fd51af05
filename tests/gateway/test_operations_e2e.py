"""Operations: TLS, Prometheus metrics, JSON logs, reflection, and UNAVAILABLE when the log cannot be written."""

from __future__ import annotations

import json
import sqlite3
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from gateway.bootstrap import Settings, build_app
from signoff.v1 import audit_pb2
from tests.conftest import ROOT, Client, auth, spawn_serve
from tests.gateway.helpers import claim_request, decide


def _settings(db_url: str, policy_dir: Path, **extra) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        address="127.0.0.1:0",
        database_url=db_url,
        policy_dir=policy_dir,
        principals_file=ROOT / "config" / "dev-principals.yaml",
        **extra,
    )


class TestTls:
    """With a certificate and key configured, the gateway speaks TLS only."""

    def test_tls_round_trip(self, db_url, policy_dir, tls_files):
        """A client trusting the certificate gets a decision over TLS."""
        key, cert = tls_files
        app = build_app(_settings(db_url, policy_dir, tls_cert=cert, tls_key=key))
        try:
            creds = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
            with grpc.secure_channel(f"127.0.0.1:{app.port}", creds) as ch:
                d = decide(Client(ch, ""), claim_request())
            assert d.route == "auto"
        finally:
            app.stop()

    def test_plaintext_client_is_refused(self, db_url, policy_dir, tls_files):
        """A plaintext client cannot talk to a TLS gateway."""
        key, cert = tls_files
        app = build_app(_settings(db_url, policy_dir, tls_cert=cert, tls_key=key))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{app.port}") as ch, pytest.raises(grpc.RpcError) as err:
                decide(Client(ch, ""), claim_request())
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            app.stop()


class TestMetrics:
    """Prometheus metrics on their own HTTP port."""

    def test_metrics_count_decisions_and_queues(self, db_url, policy_dir):
        """After two decisions the scrape shows them by route, and the junior queue depth."""
        app = build_app(_settings(db_url, policy_dir, metrics_port=0))
        try:
            with grpc.insecure_channel(f"127.0.0.1:{app.port}") as ch:
                c = Client(ch, "")
                decide(c, claim_request(confidence=0.97))
                decide(c, claim_request(confidence=0.8))
            text = urllib.request.urlopen(f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=5).read().decode()
        finally:
            app.stop()
        assert 'signoff_decisions_total{decision_type="claims.payout",route="auto"} 1.0' in text
        assert 'signoff_decisions_total{decision_type="claims.payout",route="junior"} 1.0' in text
        assert 'signoff_queue_depth{queue="junior"} 1.0' in text
        assert "signoff_decide_latency_seconds_bucket" in text and "signoff_policy_reload_errors_total" in text


class TestReflection:
    """grpcurl works without the proto files."""

    def test_reflection_lists_every_service(self, client):
        """The reflection service names the four Signoff services and health."""
        stub = reflection_pb2_grpc.ServerReflectionStub(client.channel)
        responses = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        names = {s.name for r in responses for s in r.list_services_response.service}
        assert {
            "signoff.v1.DecisionService",
            "signoff.v1.ReviewService",
            "signoff.v1.AuditService",
            "signoff.v1.PolicyService",
            "grpc.health.v1.Health",
        } <= names


class TestLogs:
    """structlog JSON lines carry the request id, decision id and policy version."""

    def test_decide_logs_a_json_line_with_context(self, db_url, policy_dir):
        """Each RPC's log line is JSON with the context bound for that call."""
        proc, address = spawn_serve(db_url, policy_dir, log_level="debug")
        try:
            with grpc.insecure_channel(address) as ch:
                md = (*auth("caller"), ("x-request-id", "req-abc-123"))
                Client(ch, address).decisions.Decide(claim_request(), metadata=md, timeout=30)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
        rpc = next(x for x in lines if x.get("request_id") == "req-abc-123" and "decision_id" in x)
        assert rpc["policy_version"] == 2 and rpc["principal"] == "claims-service"


class TestAuditWriteFailure:
    """When the log cannot be written the caller gets UNAVAILABLE and nothing is acknowledged."""

    def test_locked_database_is_unavailable(self, db_url, policy_dir, monkeypatch):
        """A write lock held elsewhere past the busy timeout turns Decide into UNAVAILABLE."""
        monkeypatch.setattr("gateway.adapters.db.SQLITE_BUSY_TIMEOUT_MS", 300)
        app = build_app(_settings(db_url, policy_dir))
        blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            with grpc.insecure_channel(f"127.0.0.1:{app.port}") as ch:
                c = Client(ch, "")
                req = claim_request()
                with pytest.raises(grpc.RpcError) as err:
                    decide(c, req)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
                blocker.execute("ROLLBACK")
                events = list(
                    c.audit.QueryEvents(
                        audit_pb2.QueryEventsRequest(types=["decision_received"]), metadata=auth("carol"), timeout=5
                    )
                )
                assert all(req.request_id not in e.event.body_json for e in events)
        finally:
            blocker.close()
            app.stop()
