"""Issue 10, items 1-3 and 6: every caller's mistake is INVALID_ARGUMENT naming its field, on
SQLite and PostgreSQL alike, with a detail of at most 200 characters; nothing is written."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2

from gateway.rpc.calls import capped
from gateway.rpc.limits import MAX_MODEL, MAX_MODEL_VERSION
from signoff.v1 import audit_pb2, decision_pb2, policy_pb2, review_pb2
from tests.conftest import auth
from tests.gateway.backends import backend_client  # noqa: F401 - the fixture
from tests.gateway.helpers import claim_request

MAX_DETAIL = 200


def _code(call: Any, req: Any, who: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        call(req, metadata=auth(who), timeout=30)
    return err.value


def refused(call: Any, req: Any, who: str, field: str) -> str:
    """Assert ``call(req)`` is INVALID_ARGUMENT naming ``field`` in a short detail; return it."""
    err = _code(call, req, who)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    assert err.details().startswith(field), err.details()
    assert len(err.details()) <= MAX_DETAIL
    return err.details()


def event_count(client: Any) -> int:
    """Events in the chain (each accepted Decide writes some)."""
    return client.audit.VerifyChain(audit_pb2.VerifyChainRequest(), metadata=auth("carol"), timeout=30).count


def held_task(client: Any) -> str:
    """A junior-queue task claimed by alice; its id."""
    client.decisions.Decide(claim_request(confidence=0.8), metadata=auth("caller"), timeout=30)
    return client.review.ClaimNext(
        review_pb2.ClaimNextRequest(queue="junior"), metadata=auth("alice"), timeout=30
    ).task.task_id


class TestNonFiniteNumbers:
    """Item 1: NaN and ±Infinity anywhere, Structs included, are refused before any digest."""

    @pytest.mark.parametrize(
        ("value", "path"),
        [
            ({"amount": math.nan}, "input.amount"),
            ({"extra": {"deep": {"x": math.inf}}}, "input.extra.deep.x"),
            ({"extra": [1, [2, -math.inf]]}, "input.extra[1][1]"),
        ],
        ids=["top-nan", "nested-inf", "list-minus-inf"],
    )
    def test_decide_input(self, backend_client, value, path):
        """A non-finite number in ``input`` is INVALID_ARGUMENT naming its path."""
        req = claim_request()
        req.input.update(value)
        before = event_count(backend_client)
        refused(backend_client.decisions.Decide, req, "caller", path)
        assert event_count(backend_client) == before

    def test_submit_payload(self, backend_client):
        """A Submit EDIT with ``payload={"x": NaN}`` is INVALID_ARGUMENT naming payload.x."""
        task_id = held_task(backend_client)
        req = review_pb2.SubmitRequest(task_id=task_id, action=decision_pb2.REVIEW_ACTION_EDIT, reason="fix")
        req.payload.update({"x": math.nan})
        refused(backend_client.review.Submit, req, "alice", "payload.x")

    @pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
    def test_proposal_numbers(self, backend_client, value):
        """A non-finite confidence or score names its field."""
        req = claim_request()
        req.proposal.scores["approve"] = value
        refused(backend_client.decisions.Decide, req, "caller", "proposal.scores[approve]")
        req = claim_request()
        req.proposal.confidence = value
        refused(backend_client.decisions.Decide, req, "caller", "proposal.confidence")


def _duration(seconds: int, nanos: int = 0) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=seconds, nanos=nanos)


class TestDurations:
    """Item 2: durations beyond their documented range are INVALID_ARGUMENT, not an overflow."""

    @pytest.mark.parametrize(
        ("seconds", "nanos"),
        [(10**15, 0), (601, 0), (600, 1), (1, 10**9 + 5)],
        ids=["huge", "over-ten-minutes", "over-by-a-nano", "bad-nanos"],
    )
    def test_decide_wait(self, backend_client, seconds, nanos):
        """Decide's ``wait`` is at most ten minutes."""
        req = claim_request()
        req.wait.CopyFrom(_duration(seconds, nanos))
        refused(backend_client.decisions.Decide, req, "caller", "wait")

    @pytest.mark.parametrize("seconds", [10**15, 8 * 3600 + 1])
    def test_claim_lease(self, backend_client, seconds):
        """ClaimNext's ``lease`` is at most eight hours."""
        req = review_pb2.ClaimNextRequest(queue="junior", lease=_duration(seconds))
        refused(backend_client.review.ClaimNext, req, "alice", "lease")

    def test_largest_wait_is_accepted(self, backend_client):
        """Exactly ten minutes is within range (an automatic case answers at once)."""
        req = claim_request(confidence=0.99)
        req.wait.CopyFrom(_duration(600))
        decision = backend_client.decisions.Decide(req, metadata=auth("caller"), timeout=30).decision
        assert decision.status == decision_pb2.DECISION_STATUS_AUTO_DECIDED


class TestStringsThePostgresColumnsRefuse:
    """Item 3: NUL characters and over-long model fields are refused at the edge on both backends."""

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda r: setattr(r.proposal, "model", "gbm\x00"), "proposal.model"),
            (lambda r: setattr(r, "subject_ref", "s\x00ubj"), "subject_ref"),
            (lambda r: setattr(r.proposal, "model", "m" * (MAX_MODEL + 1)), "proposal.model"),
            (lambda r: setattr(r.proposal, "model_version", "v" * (MAX_MODEL_VERSION + 1)), "proposal.model_version"),
        ],
        ids=["nul-model", "nul-subject", "long-model", "long-model-version"],
    )
    def test_decide(self, backend_client, change, field):
        """The field is named and the chain is unchanged."""
        req = claim_request()
        change(req)
        before = event_count(backend_client)
        refused(backend_client.decisions.Decide, req, "caller", field)
        assert event_count(backend_client) == before

    def test_nul_in_reason(self, backend_client):
        """A Submit ``reason`` with a NUL names reason."""
        task_id = held_task(backend_client)
        req = review_pb2.SubmitRequest(task_id=task_id, action=decision_pb2.REVIEW_ACTION_REJECT, reason="no\x00")
        refused(backend_client.review.Submit, req, "alice", "reason")

    def test_longest_values_are_stored(self, backend_client):
        """Model fields at their limits fit the columns of both backends."""
        req = claim_request()
        req.proposal.model, req.proposal.model_version = "m" * MAX_MODEL, "v" * MAX_MODEL_VERSION
        decision = backend_client.decisions.Decide(req, metadata=auth("caller"), timeout=30).decision
        assert decision.proposal.model == "m" * MAX_MODEL

    def test_good_requests_alongside_bad_ones_are_decided(self, backend_client):
        """Requests in flight with refused ones are decided and durable."""

        def one(i: int) -> str:
            req = claim_request()
            if i % 2:
                req.proposal.model = "x\x00"
            try:
                return backend_client.decisions.Decide(req, metadata=auth("caller"), timeout=30).decision.decision_id
            except grpc.RpcError as err:
                return err.code().name

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(one, range(16)))
        assert answers[1::2] == ["INVALID_ARGUMENT"] * 8
        for decision_id in answers[::2]:
            got = backend_client.decisions.GetDecision(
                decision_pb2.GetDecisionRequest(decision_id=decision_id), metadata=auth("caller"), timeout=30
            ).decision
            assert got.decision_id == decision_id


class TestDetailsAreCapped:
    """Item 6: no detail echoes an unbounded field; every string, map and list has a limit."""

    @pytest.mark.parametrize("size", [9 * 1024, 17 * 1024])
    def test_long_outcome(self, backend_client, size):
        """A 9 KB or 17 KB outcome is INVALID_ARGUMENT every time, never RESOURCE_EXHAUSTED."""
        req = claim_request(outcome="o" * size)
        for _ in range(10):
            refused(backend_client.decisions.Decide, req, "caller", "proposal.outcome")

    @pytest.mark.parametrize(
        ("method", "request_", "who", "field"),
        [
            ("decisions.Decide", lambda: _with(claim_request(), decision_type="t" * 20_000), "caller", "decision_type"),
            (
                "decisions.GetDecision",
                lambda: decision_pb2.GetDecisionRequest(decision_id="d" * 20_000),
                "caller",
                "decision_id",
            ),
            ("review.ListTasks", lambda: review_pb2.ListTasksRequest(queue="q" * 20_000), "alice", "queue"),
            ("review.ClaimNext", lambda: review_pb2.ClaimNextRequest(queue="q" * 20_000), "alice", "queue"),
            ("review.Submit", lambda: review_pb2.SubmitRequest(task_id="t" * 20_000), "alice", "task_id"),
            ("audit.QueryDecisions", lambda: audit_pb2.QueryDecisionsRequest(status="s" * 20_000), "carol", "status"),
            ("policies.GetPolicy", lambda: policy_pb2.GetPolicyRequest(name="n" * 20_000), "carol", "name"),
        ],
        ids=["decision_type", "decision_id", "list-queue", "claim-queue", "task_id", "status", "name"],
    )
    def test_long_field(self, backend_client, method, request_, who, field):
        """Each field the issue names is refused with a detail of at most 200 characters."""
        service, name = method.split(".")
        refused(getattr(getattr(backend_client, service), name), request_(), who, field)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            (lambda r: setattr(r.proposal, "model", "m" * 1_000_000), "proposal.model"),
            (lambda r: r.proposal.scores.__setitem__("l" * 1_000_000, 0.5), "proposal.scores"),
            (lambda r: r.proposal.scores.update({f"label-{i}": 0.5 for i in range(50_000)}), "proposal.scores"),
            (lambda r: setattr(r.proposal, "explanation", "e" * 1_000_000), "proposal.explanation"),
        ],
        ids=["1mb-model", "1mb-label", "50k-labels", "1mb-explanation"],
    )
    def test_unbounded_decide_fields(self, backend_client, change, field):
        """A 1 MB model, a 1 MB score label, 50,000 labels and a 1 MB explanation are refused."""
        req = claim_request()
        change(req)
        refused(backend_client.decisions.Decide, req, "caller", field)

    def test_reason_of_a_megabyte(self, backend_client):
        """A 1 MB Submit reason is refused naming reason."""
        task_id = held_task(backend_client)
        req = review_pb2.SubmitRequest(
            task_id=task_id, action=decision_pb2.REVIEW_ACTION_REJECT, reason="r" * 1_000_000
        )
        refused(backend_client.review.Submit, req, "alice", "reason")

    def test_unknown_queue_detail_is_capped(self, backend_client):
        """A detail that quotes a (short enough) value is still cut at 200 characters."""
        err = _code(backend_client.review.ListTasks, review_pb2.ListTasksRequest(queue="q" * 128), "alice")
        assert err.code() == grpc.StatusCode.NOT_FOUND and len(err.details()) <= MAX_DETAIL


def _with(req: decision_pb2.DecideRequest, **fields: Any) -> decision_pb2.DecideRequest:
    for k, v in fields.items():
        setattr(req, k, v)
    return req


class TestCapped:
    """The detail cap keeps short messages and cuts long ones with an ellipsis."""

    def test_short_message_is_kept(self):
        """A message within the cap is unchanged."""
        assert capped("field: problem") == "field: problem"

    def test_long_message_is_cut(self):
        """A longer one is cut to 200 characters, the last an ellipsis."""
        out = capped("x" * 500)
        assert len(out) == 200 and out.endswith("…")


def _unsigned_token(key: list[Any], kind: str) -> str:
    """A token in the old unsigned form with the right filter hash (what a hostile caller can make)."""
    import base64

    from gateway.adapters import queries

    cls = queries.DecisionFilter if kind == "decisions" else queries.EventFilter
    body = {"k": key, "q": queries._fingerprint(kind, cls()), "v": 1}
    return base64.urlsafe_b64encode(queries.canonical_json(body).encode()).decode().rstrip("=")


class TestClientMistakesAreNotOutages:
    """Item 4: forged tokens and out-of-range integers are INVALID_ARGUMENT, not INTERNAL or UNAVAILABLE."""

    def test_event_token_with_huge_key(self, backend_client):
        """A ListEvents token with the right filter hash and key 2**70 names page_token."""
        req = audit_pb2.ListEventsRequest(page_token=_unsigned_token([2**70], "events"))
        refused(backend_client.audit.ListEvents, req, "carol", "page_token")

    @pytest.mark.parametrize(
        "when", ["2026-11-24T10:00:00", "99999-01-01T00:00:00+00:00"], ids=["naive", "out-of-range"]
    )
    def test_decision_token_with_bad_time(self, backend_client, when):
        """A QueryDecisions token with a naive or out-of-range time names page_token."""
        req = audit_pb2.QueryDecisionsRequest(page_token=_unsigned_token([when, "d"], "decisions"))
        refused(backend_client.audit.QueryDecisions, req, "carol", "page_token")

    def test_real_tokens_page(self, backend_client):
        """The gateway's own tokens still lead to the next page."""
        for _ in range(3):
            backend_client.decisions.Decide(claim_request(), metadata=auth("caller"), timeout=30)
        first = backend_client.audit.ListEvents(
            audit_pb2.ListEventsRequest(page_size=2), metadata=auth("carol"), timeout=30
        )
        nxt = backend_client.audit.ListEvents(
            audit_pb2.ListEventsRequest(page_size=2, page_token=first.next_page_token),
            metadata=auth("carol"),
            timeout=30,
        )
        assert nxt.events[0].seq == first.events[-1].seq + 1

    @pytest.mark.parametrize(
        ("method", "request_", "field"),
        [
            ("QueryDecisions", audit_pb2.QueryDecisionsRequest(policy_version=2**62), "policy_version"),
            ("ListEvents", audit_pb2.ListEventsRequest(policy_version=2**62), "policy_version"),
            ("QueryEvents", audit_pb2.QueryEventsRequest(after_seq=-1), "after_seq"),
        ],
    )
    def test_audit_integers(self, backend_client, method, request_, field):
        """policy_version=2**62 (and a negative after_seq) names the field."""
        call = getattr(backend_client.audit, method)
        if method == "QueryEvents":
            with pytest.raises(grpc.RpcError) as err:
                list(call(request_, metadata=auth("carol"), timeout=30))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details().startswith(field)
        else:
            refused(call, request_, "carol", field)

    def test_get_policy_version(self, backend_client):
        """GetPolicy with version 2**62 names version."""
        req = policy_pb2.GetPolicyRequest(name="claims-triage", version=2**62)
        refused(backend_client.policies.GetPolicy, req, "carol", "version")
