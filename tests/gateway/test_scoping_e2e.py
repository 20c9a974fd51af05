"""Callers cannot see or squat each other's decisions; reviewers read only their queues' cases."""

from __future__ import annotations

import grpc
import pytest

from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim_request


def _get(client, decision_id: str, who: str):  # type: ignore[no-untyped-def]
    req = decision_pb2.GetDecisionRequest(decision_id=decision_id)
    return client.decisions.GetDecision(req, metadata=auth(who), timeout=30).decision


class TestRequestIdsPerCaller:
    def test_another_callers_replay_gets_its_own_decision_not_the_first(self, client) -> None:  # type: ignore[no-untyped-def]
        """moderation-service replaying claims-service's request id and body gets a new decision
        of its own: no input of the other caller comes back, and nothing says the id was taken."""
        req = claim_request(confidence=0.8, request_id="shared-id-1")
        mine = client.decisions.Decide(req, metadata=auth("caller"), timeout=30).decision
        theirs = client.decisions.Decide(req, metadata=auth("moderation"), timeout=30).decision
        assert theirs.decision_id != mine.decision_id

        retry = client.decisions.Decide(req, metadata=auth("moderation"), timeout=30).decision
        other_body = claim_request(confidence=0.5, request_id="shared-id-1")
        with pytest.raises(grpc.RpcError) as err:
            client.decisions.Decide(other_body, metadata=auth("caller"), timeout=30)

        assert retry.decision_id == theirs.decision_id  # each caller's retry is idempotent
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS  # a key conflicts only with its owner's
        with pytest.raises(grpc.RpcError) as denied:
            _get(client, mine.decision_id, "moderation")
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


class TestReadRights:
    def test_a_junior_reviewer_cannot_read_a_senior_queue_decision(self, client) -> None:  # type: ignore[no-untyped-def]
        """GetDecision of a senior-queue case: PERMISSION_DENIED for alice (junior), served to
        bob (senior), carol (auditor) and the requesting caller."""
        held = client.decisions.Decide(claim_request(confidence=0.5), metadata=auth("caller"), timeout=30).decision
        assert held.queue == "senior"

        with pytest.raises(grpc.RpcError) as err:
            _get(client, held.decision_id, "alice")

        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert {_get(client, held.decision_id, who).decision_id for who in ("bob", "carol", "caller")} == {
            held.decision_id
        }
