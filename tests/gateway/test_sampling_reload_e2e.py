"""Random audit of automatic decisions, and policy reload that keeps the last good version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from signoff.v1 import decision_pb2, policy_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide, submit

S = decision_pb2


def _set_rate(policy_dir: Path, rate: float) -> None:
    path = policy_dir / "claims-triage.yaml"
    text = path.read_text()
    assert "audit_auto_rate: 0.02" in text
    path.write_text(text.replace("audit_auto_rate: 0.02", f"audit_auto_rate: {rate}"))


class TestSampling:
    """Automatic decisions are drawn for human audit at the policy's rate."""

    @pytest.fixture
    def policy_dir(self, policy_dir: Path) -> Path:
        """The shipped policies with every automatic claim drawn for audit."""
        _set_rate(policy_dir, 1.0)
        return policy_dir

    def test_sampled_decision_is_final_and_queued_for_audit(self, client):
        """The caller gets the auto decision at once, and an audit task appears."""
        d = decide(client, claim_request(confidence=0.99))
        assert d.status == S.DECISION_STATUS_AUTO_DECIDED and d.sampled and d.sample_probability == 1.0
        got = claim(client, "audit", "carol")
        assert got.decision.decision_id == d.decision_id

    def test_audit_override_adds_a_correction(self, client):
        """An audit reviewer's override shows as a correction on the decision."""
        d = decide(client, claim_request(confidence=0.99))
        task = claim(client, "audit", "carol").task
        submit(client, task.task_id, "carol", "override", outcome="deny", reason="duplicate claim")
        got = client.decisions.GetDecision(
            S.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=5
        ).decision
        assert got.status == S.DECISION_STATUS_AUTO_DECIDED and got.final_outcome == "approve"
        assert (got.correction.outcome, got.correction.reviewer) == ("deny", "carol")
        watched = list(
            client.decisions.WatchDecision(
                S.WatchDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=5
            )
        )
        assert watched[-1].decision.correction.outcome == "deny"


class TestDrawIsDeterministic:
    """The draw depends only on the decision id."""

    def test_same_id_same_draw(self):
        """sample_draw is a pure function of the id, uniform in [0, 1)."""
        from gateway.review.rules import sample_draw

        draws = [sample_draw(f"id-{i}") for i in range(2000)]
        assert draws[:5] == [sample_draw(f"id-{i}") for i in range(5)]
        assert all(0 <= x < 1 for x in draws) and 0.45 < sum(draws) / len(draws) < 0.55


def _policy_health(client) -> int:  # type: ignore[no-untyped-def]
    stub = health_pb2_grpc.HealthStub(client.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service="signoff.policies"), timeout=5).status


def _wait_for(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


class TestReload:
    """A policy file changed on disk is reloaded atomically; a broken edit keeps the last good one."""

    def test_good_edit_is_picked_up(self, client, policy_dir):
        """Raising the version and a threshold changes routing without a restart."""
        path = policy_dir / "claims-triage.yaml"
        text = path.read_text()
        assert "version: 2" in text
        path.write_text(
            text.replace("version: 2", "version: 3", 1).replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.5")
        )
        assert _wait_for(lambda: decide(client, claim_request()).policy.version == 3)
        listed = client.policies.ListPolicies(policy_pb2.ListPoliciesRequest(), metadata=auth("carol"), timeout=5)
        versions = sorted(p.ref.version for p in listed.policies if p.decision_type == "claims.payout")
        assert versions == [2, 3]
        old = client.policies.GetPolicy(
            policy_pb2.GetPolicyRequest(name=listed.policies[0].ref.name, version=2), metadata=auth("carol"), timeout=5
        )
        assert "audit_auto_rate: 0.02" in old.text

    def test_broken_edit_keeps_last_good_and_shows_in_health(self, client, policy_dir):
        """A broken file is refused: decisions still use version 2 and health says NOT_SERVING."""
        (policy_dir / "claims-triage.yaml").write_text("metadata: [this is not\n")
        assert _wait_for(lambda: _policy_health(client) == health_pb2.HealthCheckResponse.NOT_SERVING)
        assert decide(client, claim_request()).policy.version == 2

    def test_same_version_other_content_is_refused(self, client, policy_dir):
        """Changing a policy without raising its version is refused: versions must name one text."""
        path = policy_dir / "claims-triage.yaml"
        path.write_text(path.read_text().replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.03"))
        assert _wait_for(lambda: _policy_health(client) == health_pb2.HealthCheckResponse.NOT_SERVING)
        assert decide(client, claim_request()).policy.version == 2
