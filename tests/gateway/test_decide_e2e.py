"""End to end through the generated stubs: Decide, hold for review, sign off, watch."""

from __future__ import annotations

import threading

import grpc
import pytest

from signoff.v1 import audit_pb2, decision_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide, submit

S = decision_pb2


class TestRouting:
    """The shipped claims policy routes as the seed describes."""

    def test_confident_small_claim_is_decided_automatically(self, client):
        """Confidence above 0.92 on a small claim is final at once."""
        d = decide(client, claim_request(confidence=0.97))
        assert (d.status, d.route, d.final_outcome) == (S.DECISION_STATUS_AUTO_DECIDED, "auto", "approve")
        assert d.policy.name and d.policy.version >= 1 and len(d.policy.digest) == 64

    def test_middling_confidence_goes_to_junior(self, client):
        """Confidence between 0.70 and 0.92 is held in the junior queue with its reason."""
        d = decide(client, claim_request(confidence=0.81))
        assert (d.status, d.queue) == (S.DECISION_STATUS_PENDING_REVIEW, "junior")
        assert any("0.81" in r for r in d.reasons)

    def test_large_claim_goes_to_senior_whatever_the_confidence(self, client):
        """A claim of $50,000 or more is held for a senior adjuster."""
        d = decide(client, claim_request(amount=62000, confidence=0.99))
        assert (d.status, d.queue) == (S.DECISION_STATUS_PENDING_REVIEW, "senior")

    def test_low_confidence_goes_to_senior(self, client):
        """Confidence below 0.70 is held for a senior adjuster."""
        d = decide(client, claim_request(confidence=0.41))
        assert d.queue == "senior"


class TestSignOff:
    """Claim, submit and watch a held decision."""

    def test_claim_submit_finalises_the_decision(self, client):
        """An approved task makes the decision HUMAN_DECIDED with the proposal's outcome."""
        held = decide(client, claim_request(confidence=0.8))
        got = claim(client, "junior", "alice")
        assert got.decision.decision_id == held.decision_id
        done = submit(client, got.task.task_id, "alice", "approve").decision
        assert (done.status, done.final_outcome, done.reviewer) == (S.DECISION_STATUS_HUMAN_DECIDED, "approve", "alice")

    def test_watch_streams_until_final(self, client):
        """WatchDecision yields the pending state, then the final one, then ends."""
        held = decide(client, claim_request(confidence=0.8))
        seen: list[int] = []
        started = threading.Event()

        def watch() -> None:
            stream = client.decisions.WatchDecision(
                S.WatchDecisionRequest(decision_id=held.decision_id), metadata=auth("caller"), timeout=20
            )
            for resp in stream:
                seen.append(resp.decision.status)
                started.set()

        t = threading.Thread(target=watch)
        t.start()
        assert started.wait(10)
        task = claim(client, "junior", "alice").task
        submit(client, task.task_id, "alice", "override", outcome="deny", reason="policy excludes flood")
        t.join(20)
        assert seen[0] == S.DECISION_STATUS_PENDING_REVIEW and seen[-1] == S.DECISION_STATUS_HUMAN_DECIDED

    def test_decide_with_wait_returns_the_sign_off(self, client):
        """Decide with a wait deadline answers with the human's decision once it lands."""
        result: list[decision_pb2.Decision] = []
        t = threading.Thread(target=lambda: result.append(decide(client, claim_request(confidence=0.8, wait=15))))
        t.start()
        task = None
        for _ in range(100):
            got = claim(client, "junior", "alice")
            if got.HasField("task"):
                task = got.task
                break
            threading.Event().wait(0.05)
        assert task is not None
        submit(client, task.task_id, "alice", "approve")
        t.join(20)
        assert result[0].status == S.DECISION_STATUS_HUMAN_DECIDED

    def test_override_needs_a_reason(self, client):
        """OVERRIDE without a reason is INVALID_ARGUMENT naming the reason field."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        with pytest.raises(grpc.RpcError) as err:
            submit(client, task.task_id, "alice", "override", outcome="deny")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in err.value.details()

    def test_second_submit_is_refused(self, client):
        """A task can be signed off only once."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        submit(client, task.task_id, "alice", "approve")
        with pytest.raises(grpc.RpcError) as err:
            submit(client, task.task_id, "alice", "approve")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    def test_override_counts_in_stats(self, client):
        """An override shows in OverrideStats for its queue."""
        decide(client, claim_request(confidence=0.8))
        decide(client, claim_request(confidence=0.85))
        for action, outcome, reason in (("override", "deny", "not covered"), ("approve", "", "")):
            task = claim(client, "junior", "alice").task
            submit(client, task.task_id, "alice", action, outcome=outcome, reason=reason)
        stats = client.audit.OverrideStats(
            audit_pb2.OverrideStatsRequest(group_by=["queue"]), metadata=auth("carol"), timeout=10
        )
        junior = next(g for g in stats.groups if g.key["queue"] == "junior")
        assert (junior.reviewed, junior.overridden, junior.approved) == (2, 1, 1)
        assert junior.override_rate == pytest.approx(0.5)


class TestLease:
    """Leases expire and return the task to its queue."""

    def test_submit_after_lease_expiry_is_refused_and_task_is_claimable(self, client):
        """After the lease lapses the old holder cannot submit and another reviewer can claim."""
        decide(client, claim_request(amount=70000, confidence=0.95))
        first = claim(client, "senior", "bob", lease=0.5).task
        threading.Event().wait(1.0)
        with pytest.raises(grpc.RpcError) as err:
            submit(client, first.task_id, "bob", "approve")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        again = claim(client, "senior", "bob")
        assert again.task.task_id == first.task_id


class TestIdempotency:
    """request_id makes Decide safe to retry."""

    def test_retry_returns_the_same_decision_and_writes_nothing_twice(self, client):
        """A retried Decide returns the first decision and adds no audit events."""
        req = claim_request(confidence=0.8)
        first = decide(client, req)
        events = lambda: list(
            client.audit.QueryEvents(
                audit_pb2.QueryEventsRequest(decision_id=first.decision_id), metadata=auth("carol"), timeout=10
            )
        )
        before = len(events())
        second = decide(client, req)
        assert second.decision_id == first.decision_id and len(events()) == before

    def test_same_request_id_with_other_body_is_already_exists(self, client):
        """Reusing a request id with a different body is ALREADY_EXISTS."""
        req = claim_request(confidence=0.8)
        decide(client, req)
        req.proposal.confidence = 0.5
        with pytest.raises(grpc.RpcError) as err:
            decide(client, req)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


class TestRelease:
    """A reviewer can hand a claimed task back."""

    def test_released_task_returns_to_the_queue(self, client):
        """After Release the decision is pending again and another reviewer claims the same task."""
        from signoff.v1 import review_pb2

        held = decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        released = client.review.Release(
            review_pb2.ReleaseRequest(task_id=task.task_id, reason="conflict of interest"),
            metadata=auth("alice"),
            timeout=30,
        ).task
        assert released.state == review_pb2.TASK_STATE_OPEN and not released.claimed_by
        got = client.decisions.GetDecision(
            S.GetDecisionRequest(decision_id=held.decision_id), metadata=auth("caller"), timeout=30
        ).decision
        assert got.status == S.DECISION_STATUS_PENDING_REVIEW
        assert claim(client, "junior", "bob").task.task_id == task.task_id

    def test_only_the_holder_can_release(self, client):
        """Releasing someone else's claim is FAILED_PRECONDITION."""
        from signoff.v1 import review_pb2

        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice").task
        with pytest.raises(grpc.RpcError) as err:
            client.review.Release(review_pb2.ReleaseRequest(task_id=task.task_id), metadata=auth("bob"), timeout=30)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
