"""The review use cases against in-memory fakes of their ports: fast, deterministic specifications."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.errors import Conflict, InvalidRequest, PermissionDenied, PreconditionFailed
from gateway.policy import load_policy
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Principal, Proposal, Status, TaskState
from gateway.review.policies import record_policies
from gateway.review.service import ReviewService
from tests.review.fakes import CountingIds, FakeClock, FakePolicies, FakeStore, NullNotifier

ROOT = Path(__file__).resolve().parents[2]
CALLER = Principal("svc", frozenset({"caller"}))
ALICE = Principal("alice", frozenset({"junior_adjuster"}))
BOB = Principal("bob", frozenset({"senior_adjuster"}))


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when told."""
    return FakeClock()


@pytest.fixture
def store() -> FakeStore:
    """An in-memory unit of work."""
    return FakeStore()


@pytest.fixture
def service(store: FakeStore, clock: FakeClock) -> ReviewService:
    """The use cases over fakes, with the shipped claims policy."""
    policy = load_policy(ROOT / "policies" / "claims-triage.yaml")
    return ReviewService(store, FakePolicies(policy), clock, CountingIds(), NullNotifier())


def _cmd(confidence: float = 0.8, amount: float = 1000, request_id: str = "r-1") -> DecideCommand:
    return DecideCommand(
        request_id=request_id, decision_type="claims.payout", subject_ref="s",
        input={"amount": amount, "claim_type": "home"}, proposal=Proposal("approve", confidence),
    )


class TestDecide:
    """decide() routes, records events, and is idempotent."""

    def test_held_decision_writes_received_and_routed(self, service, store):
        """A held case gets a task and two events, and nothing final."""
        d = service.decide(CALLER, _cmd(0.8))
        assert d.status is Status.PENDING_REVIEW
        assert [e.type for e in store.events] == ["decision_received", "routed"]
        assert [t.queue for t in store.state.tasks.values()] == ["junior"]

    def test_auto_decision_is_finalised_in_the_same_write(self, service, store):
        """An automatic decision writes decision_finalized with it."""
        service.decide(CALLER, _cmd(0.99))
        assert [e.type for e in store.events] == ["decision_received", "routed", "decision_finalized"]

    def test_retry_is_idempotent(self, service, store):
        """The same request twice writes once."""
        first = service.decide(CALLER, _cmd())
        again = service.decide(CALLER, _cmd())
        assert again == first and len(store.events) == 2

    def test_reused_request_id_conflicts(self, service):
        """Another body under a used request id is a Conflict."""
        service.decide(CALLER, _cmd(0.8))
        with pytest.raises(Conflict):
            service.decide(CALLER, _cmd(0.5))

    def test_reviewer_cannot_decide(self, service):
        """Only the caller role asks for decisions."""
        with pytest.raises(PermissionDenied):
            service.decide(ALICE, _cmd())


class TestOnAnEventLoop:
    """decide_async and perform(plan_*) give what decide, claim_next and submit give."""

    def test_decide_async_routes_records_and_is_idempotent(self, service, store):
        """Same records as decide(); a retry returns the stored decision; another body conflicts."""
        async def main():
            first = await service.decide_async(CALLER, _cmd(0.8), _no_blocking)
            again = await service.decide_async(CALLER, _cmd(0.8), _no_blocking)
            with pytest.raises(Conflict):
                await service.decide_async(CALLER, _cmd(0.5), _no_blocking)
            return first, again

        first, again = asyncio.run(main())
        assert first.status is Status.PENDING_REVIEW and again == first
        assert [e.type for e in store.events] == ["decision_received", "routed"]

    def test_decide_async_waits_for_a_sign_off_through_the_blocking_runner(self, service):
        """With ``wait`` and a held case, the wait runs through ``blocking`` (a pool in the server)."""
        ran = []

        async def blocking(fn, *args):
            ran.append(fn.__name__)
            return fn(*args)

        cmd = dataclasses.replace(_cmd(0.8), wait=timedelta(milliseconds=1))
        d = asyncio.run(service.decide_async(CALLER, cmd, blocking))
        assert ran == ["_wait_final"] and d.status is Status.PENDING_REVIEW

    def test_claim_and_submit_planned_and_performed(self, service, store):
        """perform(plan_claim) leases the task; perform(plan_submit) signs it off."""
        service.decide(CALLER, _cmd(0.8))

        async def main():
            task, _ = await service.perform(service.plan_claim(ALICE, "junior"))
            return await service.perform(service.plan_submit(ALICE, SubmitCommand(
                task_id=task.task_id, action=Action.APPROVE, outcome="", payload={}, reason="")))

        decision, task = asyncio.run(main())
        assert decision.status is Status.HUMAN_DECIDED and task.state is TaskState.DONE

    def test_planning_checks_before_any_write(self, service, store):
        """A refused claim or sign-off is refused by the plan, so nothing is queued."""
        with pytest.raises(PermissionDenied):
            service.plan_claim(CALLER, "junior")
        with pytest.raises(InvalidRequest):
            service.plan_submit(ALICE, SubmitCommand(task_id="t", action=Action.OVERRIDE, outcome="deny",
                                                     payload={}, reason=" "))
        assert store.events == []


async def _no_blocking(fn, *args):  # type: ignore[no-untyped-def]
    raise AssertionError("nothing should block without wait")


class TestLeases:
    """Leases expire on the clock, not on a timer."""

    def test_lapsed_lease_blocks_submit_and_frees_the_task(self, service, clock):
        """After the lease, the holder cannot submit and the task can be claimed again."""
        service.decide(CALLER, _cmd(0.8))
        task, _ = service.claim_next(ALICE, "junior", timedelta(minutes=5))
        clock.advance(minutes=6)
        with pytest.raises(PreconditionFailed):
            service.submit(ALICE, SubmitCommand(task.task_id, Action.APPROVE))
        again, _ = service.claim_next(BOB, "junior")
        assert again.task_id == task.task_id and again.claimed_by == "bob"

    def test_expire_leases_writes_released_events(self, service, store, clock):
        """The sweeper returns lapsed tasks to the queue and logs why."""
        service.decide(CALLER, _cmd(0.8))
        service.claim_next(ALICE, "junior", timedelta(seconds=30))
        clock.advance(minutes=1)
        assert service.expire_leases() == 1
        released = [e for e in store.events if e.type == "review_released"]
        assert released[0].body["reason"] == "lease_expired"
        assert all(t.state is TaskState.OPEN for t in store.state.tasks.values())


class TestSubmit:
    """submit() records what the human did."""

    def test_override_records_the_new_outcome(self, service):
        """OVERRIDE with a reason finalises with the reviewer's outcome."""
        service.decide(CALLER, _cmd(0.8))
        task, _ = service.claim_next(ALICE, "junior")
        d, _ = service.submit(ALICE, SubmitCommand(task.task_id, Action.OVERRIDE, "deny", reason="excluded peril"))
        assert (d.status, d.final_outcome, d.action) == (Status.HUMAN_DECIDED, "deny", Action.OVERRIDE)

    def test_override_to_same_outcome_is_refused(self, service):
        """An override that changes nothing is a caller mistake."""
        service.decide(CALLER, _cmd(0.8))
        task, _ = service.claim_next(ALICE, "junior")
        with pytest.raises(InvalidRequest) as err:
            service.submit(ALICE, SubmitCommand(task.task_id, Action.OVERRIDE, "approve", reason="r"))
        assert err.value.field == "outcome"

    def test_reject_needs_a_reason(self, service):
        """REJECT without a reason is refused before anything is written."""
        with pytest.raises(InvalidRequest) as err:
            service.submit(ALICE, SubmitCommand("t", Action.REJECT))
        assert err.value.field == "reason"


class TestPolicyVersions:
    """Each policy version's text is stored once."""

    def test_new_version_logged_once(self, store, clock):
        """Recording the same policy twice logs policy_loaded once."""
        policy = load_policy(ROOT / "policies" / "claims-triage.yaml")
        assert record_policies(store, clock, [policy]) == 1
        assert record_policies(store, clock, [policy]) == 0
        assert [e.type for e in store.events] == ["policy_loaded"]
