"""AuditService.ReviewerStats and signoff audit reviewers on a real gateway: the quick approver is flagged."""

from __future__ import annotations

import grpc
import pytest

from gateway.cli import main as cli
from signoff.v1 import audit_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide, submit


def work(client, who: str, n: int, override_every: int = 0) -> None:
    """``n`` review-band claims, each claimed and signed off by ``who`` (overriding every k-th)."""
    for i in range(n):
        decide(client, claim_request(amount=900 + i, confidence=0.81))
        task = claim(client, "junior", who).task
        if override_every and i % override_every != 0:
            submit(client, task.task_id, who, "override", outcome="partial", reason="only the glass is covered")
        else:
            submit(client, task.task_id, who, "approve")


class TestReviewerStats:
    """The evidence through gRPC and the CLI."""

    def test_rubber_stamper_is_flagged_and_careful_reviewer_is_not(self, client, capsys):
        """alice approves 20 cases at machine speed and is flagged; erin overrides most, with reasons, and is not."""
        work(client, "alice", 20)
        work(client, "erin", 10, override_every=5)
        rows = client.audit.ReviewerStats(audit_pb2.ReviewerStatsRequest(), metadata=auth("carol"), timeout=30).rows
        stats = {r.reviewer: r for r in rows}
        alice, erin = stats["alice"], stats["erin"]
        assert (alice.reviews, alice.approval_rate, alice.has_median_seconds) == (20, 1.0, True)
        assert "fast_approver" in alice.flags and "under_overrides" in alice.flags
        assert (erin.reviews, list(erin.flags)) == (10, [])
        assert erin.approval_rate == pytest.approx(0.2)
        assert alice.override_ratio.has_ratio and alice.override_ratio.upper < 0.5
        code = cli(["audit", "reviewers", "--by-queue", "--token", "dev-carol-token", "--address", client.address])
        out = capsys.readouterr().out.splitlines()
        assert code == 0 and out[0].startswith("queue") and "flags" in out[0]
        line = next(x for x in out if " alice " in f" {x} ")
        assert line.startswith("junior") and "fast_approver" in line

    def test_reviewer_token_is_denied(self, client):
        """A reviewer cannot read everyone's evidence: PERMISSION_DENIED without the auditor role."""
        with pytest.raises(grpc.RpcError) as err:
            client.audit.ReviewerStats(audit_pb2.ReviewerStatsRequest(), metadata=auth("alice"), timeout=30)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

    def test_since_after_until_is_invalid(self, client):
        """A time range that ends before it starts names the field."""
        req = audit_pb2.ReviewerStatsRequest()
        req.since.FromSeconds(2_000_000_000)
        req.until.FromSeconds(1_000_000_000)
        with pytest.raises(grpc.RpcError) as err:
            client.audit.ReviewerStats(req, metadata=auth("carol"), timeout=30)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details().startswith("since")
