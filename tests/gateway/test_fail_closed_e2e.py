"""A request the policy cannot judge goes to a human, never to auto."""

from __future__ import annotations

from pathlib import Path

import pytest

from signoff.v1 import decision_pb2
from tests.conftest import new_request_id
from tests.gateway.helpers import decide

POLICY = """\
apiVersion: signoff.dev/v1
kind: RoutingPolicy
metadata: {name: refunds, version: 1, owners: [payments], description: Refund requests.}
decision: refunds.issue
significant: false
outcomes: [refund, decline]
adverse_outcomes: [decline]
input_schema:
  type: object
  required: [amount]
  properties:
    amount: {type: number, minimum: 0}
    chargebacks_90d: {type: integer, minimum: 0}
rules:
  - name: chargeback_history
    when: {input.chargebacks_90d: {gte: 2}}
    to: payments_review
  - name: confident
    when: {confidence: {gte: 0.9}}
    to: auto
default: payments_review
queues:
  payments_review: {roles: [junior_adjuster], description: Refunds a person checks.}
"""


class TestFailClosed:
    """Evaluation that cannot judge routes to review with the reason."""

    @pytest.fixture
    def policy_dir(self, policy_dir: Path) -> Path:
        """The shipped policies plus a refunds policy whose first rule reads an optional field."""
        (policy_dir / "refunds.yaml").write_text(POLICY)
        return policy_dir

    def _refund(self, client, **inp):  # type: ignore[no-untyped-def]
        req = decision_pb2.DecideRequest(
            request_id=new_request_id(),
            decision_type="refunds.issue",
            proposal=decision_pb2.Proposal(outcome="refund", confidence=0.99),
        )
        req.input.update(inp)
        return decide(client, req)

    def test_missing_field_fails_closed(self, client):
        """A confident proposal is still held when a rule's field is missing."""
        d = self._refund(client, amount=40)
        assert (d.route, d.rule) == ("payments_review", "fail_closed")
        assert d.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW
        assert any("chargebacks_90d" in r for r in d.reasons)

    def test_present_field_is_judged(self, client):
        """With the field present, the same proposal is decided automatically."""
        d = self._refund(client, amount=40, chargebacks_90d=0)
        assert (d.route, d.rule) == ("auto", "confident")
