"""Identity comes from the bearer token: the authentication and role matrix, and separation of duties."""

from __future__ import annotations

import grpc
import pytest

from signoff.v1 import audit_pb2, decision_pb2, review_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide


def _code(fn) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        fn()
    return err.value.code()


class TestAuthentication:
    """No token or a wrong token is UNAUTHENTICATED."""

    def test_missing_token(self, client):
        """A call without metadata is refused."""
        assert _code(lambda: client.decisions.Decide(claim_request(), timeout=5)) == grpc.StatusCode.UNAUTHENTICATED

    def test_wrong_token(self, client):
        """A token nobody holds is refused."""
        md = (("authorization", "Bearer not-a-real-token"),)
        assert (
            _code(lambda: client.decisions.Decide(claim_request(), metadata=md, timeout=5))
            == grpc.StatusCode.UNAUTHENTICATED
        )

    def test_malformed_header(self, client):
        """A header that is not 'Bearer <token>' is refused."""
        md = (("authorization", "Basic abc"),)
        assert (
            _code(lambda: client.decisions.Decide(claim_request(), metadata=md, timeout=5))
            == grpc.StatusCode.UNAUTHENTICATED
        )

    def test_health_needs_no_token(self, client):
        """The standard health service answers without a token."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        resp = health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert resp.status == health_pb2.HealthCheckResponse.SERVING


class TestRoles:
    """Each role may do its own part only: PERMISSION_DENIED otherwise."""

    @pytest.mark.parametrize("who", ["alice", "bob", "carol"])
    def test_only_callers_decide(self, client, who):
        """Reviewers and auditors cannot ask for decisions."""
        assert _code(lambda: decide(client, claim_request(), who=who)) == grpc.StatusCode.PERMISSION_DENIED

    def test_caller_cannot_claim(self, client):
        """A calling service holds no reviewer role."""
        assert _code(lambda: claim(client, "junior", "caller")) == grpc.StatusCode.PERMISSION_DENIED

    def test_junior_cannot_claim_from_senior(self, client):
        """A queue's reviewer roles decide who may claim from it."""
        assert _code(lambda: claim(client, "senior", "alice")) == grpc.StatusCode.PERMISSION_DENIED

    @pytest.mark.parametrize("who", ["caller", "alice", "bob"])
    def test_only_auditors_query_the_log(self, client, who):
        """The audit service is for the auditor role."""
        req = audit_pb2.VerifyChainRequest()
        assert (
            _code(lambda: client.audit.VerifyChain(req, metadata=auth(who), timeout=5))
            == grpc.StatusCode.PERMISSION_DENIED
        )

    def test_auditor_verifies(self, client):
        """An auditor can verify the chain."""
        decide(client, claim_request())
        resp = client.audit.VerifyChain(audit_pb2.VerifyChainRequest(), metadata=auth("carol"), timeout=10)
        assert resp.ok and resp.count > 0 and len(resp.head_hash) == 64

    def test_unknown_queue_is_not_found(self, client):
        """Claiming from a queue no policy declares is NOT_FOUND."""
        assert _code(lambda: claim(client, "nope", "alice")) == grpc.StatusCode.NOT_FOUND

    def test_other_caller_cannot_read_the_decision(self, client):
        """A decision's input is personal data: another calling service may not read it."""
        d = decide(client, claim_request(), who="caller")
        req = decision_pb2.GetDecisionRequest(decision_id=d.decision_id)
        code = _code(lambda: client.decisions.GetDecision(req, metadata=auth("moderation"), timeout=5))
        assert code == grpc.StatusCode.PERMISSION_DENIED


class TestSeparationOfDuties:
    """The principal that requested a decision may not review it."""

    def test_requester_never_gets_own_task(self, client):
        """ClaimNext skips tasks the claimer itself requested."""
        decide(client, claim_request(confidence=0.8), who="erin")
        assert not claim(client, "junior", "erin").HasField("task")
        assert claim(client, "junior", "alice").HasField("task")

    def test_list_tasks_for_reviewer(self, client):
        """A reviewer lists the queue's open tasks."""
        decide(client, claim_request(confidence=0.8))
        resp = client.review.ListTasks(review_pb2.ListTasksRequest(queue="junior"), metadata=auth("alice"), timeout=5)
        assert len(resp.tasks) == 1 and resp.tasks[0].queue == "junior"
