"""Request builders shared by the end-to-end gateway tests."""

from __future__ import annotations

from typing import Any

from google.protobuf import duration_pb2

from signoff.v1 import decision_pb2, review_pb2
from tests.conftest import auth, new_request_id


def claim_request(
    amount: float = 1200.0,
    confidence: float = 0.97,
    outcome: str = "approve",
    request_id: str | None = None,
    wait: float = 0.0,
    **extra: Any,
) -> decision_pb2.DecideRequest:
    """A claims.payout Decide request."""
    req = decision_pb2.DecideRequest(
        request_id=request_id or new_request_id(),
        decision_type="claims.payout",
        subject_ref="subj-123",
        proposal=decision_pb2.Proposal(
            outcome=outcome,
            confidence=confidence,
            model="claims-gbm",
            model_version="2026.11",
            scores={"approve": confidence},
            explanation="similar claims paid",
        ),
    )
    req.input.update({"amount": amount, "claim_type": "auto", **extra})
    if wait:
        req.wait.CopyFrom(duration_pb2.Duration(seconds=int(wait), nanos=int(wait % 1 * 1e9)))
    return req


def decide(client: Any, req: decision_pb2.DecideRequest, who: str = "caller") -> decision_pb2.Decision:
    """Send Decide as ``who`` and return the decision."""
    return client.decisions.Decide(req, metadata=auth(who), timeout=30).decision


def assert_auto_decided(client: Any, decision_ids: list[str]) -> None:
    """Each of ``decision_ids`` is stored and AUTO_DECIDED (read back as its requester)."""
    for decision_id in decision_ids:
        got = client.decisions.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=decision_id), metadata=auth("caller"), timeout=30
        ).decision
        assert got.status == decision_pb2.DECISION_STATUS_AUTO_DECIDED, decision_id


def claim(client: Any, queue: str, who: str, lease: float = 0.0) -> review_pb2.ClaimNextResponse:
    """ClaimNext on ``queue`` as ``who``."""
    req = review_pb2.ClaimNextRequest(queue=queue)
    if lease:
        req.lease.CopyFrom(duration_pb2.Duration(seconds=int(lease), nanos=int(lease % 1 * 1e9)))
    return client.review.ClaimNext(req, metadata=auth(who), timeout=30)


def submit(
    client: Any, task_id: str, who: str, action: str, outcome: str = "", reason: str = ""
) -> review_pb2.SubmitResponse:
    """Submit a sign-off as ``who``."""
    req = review_pb2.SubmitRequest(
        task_id=task_id,
        action=getattr(decision_pb2, f"REVIEW_ACTION_{action.upper()}"),
        outcome=outcome,
        reason=reason,
    )
    return client.review.Submit(req, metadata=auth(who), timeout=30)
