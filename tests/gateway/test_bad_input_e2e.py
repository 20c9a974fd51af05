"""Bad requests get INVALID_ARGUMENT naming the field, never INTERNAL, and nothing is written."""

from __future__ import annotations

import math

import grpc
import pytest

from signoff.v1 import audit_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide, submit


def _refused(client, req) -> grpc.RpcError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        decide(client, req)
    return err.value


def _event_count(client) -> int:  # type: ignore[no-untyped-def]
    return client.audit.VerifyChain(audit_pb2.VerifyChainRequest(), metadata=auth("carol"), timeout=10).count


class TestDecideBadInput:
    """Each malformed Decide names its field."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda r: r.ClearField("decision_type"), "decision_type"),
            (lambda r: setattr(r, "decision_type", "nope.nothing"), "decision_type"),
            (lambda r: setattr(r, "request_id", ""), "request_id"),
            (lambda r: setattr(r.proposal, "confidence", math.nan), "proposal.confidence"),
            (lambda r: setattr(r.proposal, "confidence", -0.1), "proposal.confidence"),
            (lambda r: setattr(r.proposal, "confidence", 1.5), "proposal.confidence"),
            (lambda r: setattr(r.proposal, "outcome", "maybe"), "proposal.outcome"),
            (lambda r: r.input.update({"amount": -5}), "input.amount"),
            (lambda r: r.input.update({"amount": "lots"}), "input.amount"),
            (lambda r: r.input.__delitem__("amount"), "input"),
            (lambda r: r.input.update({"blob": "x" * 300_000}), "input"),
        ],
        ids=[
            "no-type",
            "unknown-type",
            "empty-request-id",
            "nan",
            "negative",
            "above-one",
            "unknown-outcome",
            "schema-minimum",
            "schema-type",
            "schema-required",
            "oversized",
        ],
    )
    def test_refused_with_field(self, client, change, field):
        """The status is INVALID_ARGUMENT and the detail names the field."""
        req = claim_request()
        change(req)
        err = _refused(client, req)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.details()

    def test_refusal_writes_nothing(self, client):
        """A refused request leaves the audit log as it was."""
        decide(client, claim_request())
        before = _event_count(client)
        req = claim_request()
        req.proposal.confidence = 2.0
        _refused(client, req)
        assert _event_count(client) == before

    def test_transport_limit_is_resource_exhausted(self, client):
        """A message beyond the transport's 8 MiB limit is refused by gRPC itself."""
        req = claim_request()
        req.input.update({"blob": "x" * (9 * 1024 * 1024)})
        assert _refused(client, req).code() == grpc.StatusCode.RESOURCE_EXHAUSTED


class TestSubmitBadInput:
    """Sign-offs are checked against the policy."""

    def test_unknown_edited_outcome(self, client):
        """An outcome the policy does not know is INVALID_ARGUMENT naming outcome."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        with pytest.raises(grpc.RpcError) as err:
            submit(client, task.task_id, "alice", "edit", outcome="pay-double", reason="why not")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "outcome" in err.value.details()

    def test_unspecified_action(self, client):
        """A submit without an action is INVALID_ARGUMENT naming action."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        from signoff.v1 import review_pb2

        with pytest.raises(grpc.RpcError) as err:
            client.review.Submit(review_pb2.SubmitRequest(task_id=task.task_id), metadata=auth("alice"), timeout=5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "action" in err.value.details()
