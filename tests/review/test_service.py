"""The review use cases against in-memory fakes of their ports: fast, deterministic specifications."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.errors import Conflict, InvalidRequest, PermissionDenied, PreconditionFailed, Stale
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
CAROL = Principal("carol", frozenset({"auditor"}))
run = asyncio.run


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
        request_id=request_id,
        decision_type="claims.payout",
        subject_ref="s",
        input={"amount": amount, "claim_type": "home"},
        proposal=Proposal("approve", confidence),
    )


class TestDecide:
    """decide() routes, records events, and is idempotent."""

    def test_held_decision_writes_received_and_routed(self, service, store):
        """A held case gets a task and two events, and nothing final."""
        d = run(service.decide(CALLER, _cmd(0.8)))
        assert d.status is Status.PENDING_REVIEW
        assert [e.type for e in store.events] == ["decision_received", "routed"]
        assert [t.queue for t in store.state.tasks.values()] == ["junior"]

    def test_auto_decision_is_finalised_in_the_same_write(self, service, store):
        """An automatic decision writes decision_finalized with it."""
        run(service.decide(CALLER, _cmd(0.99)))
        assert [e.type for e in store.events] == ["decision_received", "routed", "decision_finalized"]

    def test_retry_is_idempotent(self, service, store):
        """The same request twice writes once."""
        first = run(service.decide(CALLER, _cmd()))
        again = run(service.decide(CALLER, _cmd()))
        assert again == first and len(store.events) == 2

    def test_reused_request_id_conflicts(self, service):
        """Another body under a used request id is a Conflict."""
        run(service.decide(CALLER, _cmd(0.8)))
        with pytest.raises(Conflict):
            run(service.decide(CALLER, _cmd(0.5)))

    def test_request_ids_are_per_caller(self, service, store):
        """Another caller's same request id and body is a new decision, not the first's."""
        other = Principal("other-svc", frozenset({"caller"}))
        mine = run(service.decide(CALLER, _cmd(0.8)))
        theirs = run(service.decide(other, _cmd(0.8)))
        assert theirs.decision_id != mine.decision_id and theirs.requested_by == "other-svc"
        assert len(store.state.decisions) == 2

    def test_reviewer_cannot_decide(self, service):
        """Only the caller role asks for decisions."""
        with pytest.raises(PermissionDenied):
            run(service.decide(ALICE, _cmd()))

    def test_a_caller_outside_its_allow_list_is_refused(self, service, store):
        """A caller whose principals entry lists decision types may ask only for those."""
        moderation = Principal("mod-svc", frozenset({"caller"}), decision_types=frozenset({"content.moderation"}))
        with pytest.raises(PermissionDenied, match="claims.payout"):
            run(service.decide(moderation, _cmd()))
        assert store.events == []

    def test_non_finite_input_is_the_callers_mistake(self, service, store):
        """A NaN inside the input names the input, and nothing is written."""
        cmd = dataclasses.replace(_cmd(), input={"amount": 10, "claim_type": "home", "extra": {"x": float("nan")}})
        with pytest.raises(InvalidRequest) as err:
            run(service.decide(CALLER, cmd))
        assert err.value.field == "input" and store.events == []

    def test_wait_returns_the_held_decision_when_nobody_signs_off(self, service):
        """With ``wait`` and nobody reviewing, the held decision comes back at the deadline."""
        cmd = dataclasses.replace(_cmd(0.8), wait=timedelta(milliseconds=20))
        d = run(service.decide(CALLER, cmd))
        assert d.status is Status.PENDING_REVIEW


class TestPlans:
    """The use cases plan Changes (plain data); the plan checks everything before a write."""

    def test_plan_decide_is_data_with_one_clock_read_and_one_input_serialisation(self, service, clock):
        """The Change holds the decision, its task and canonical events at one time; the
        received event embeds the very input text the decision row stores."""
        change, d = service.plan_decide(CALLER, _cmd(0.8))
        assert change.request_key == ("svc", "r-1")
        assert [type(r).__name__ for r in change.inserts] == ["Decision", "Task"]
        assert {e.time for e in change.events} == {d.created_at} == {clock.now()}
        received = change.events[0]
        assert received.decision_type == "claims.payout" and d.input_json in received.body_json
        assert json.loads(received.body_json) == received.body

    def test_planning_checks_before_any_write(self, service, store):
        """A refused claim or sign-off is refused before anything is applied."""
        with pytest.raises(PermissionDenied):
            run(service.claim_next(CALLER, "junior"))
        with pytest.raises(InvalidRequest):
            run(
                service.submit(
                    ALICE, SubmitCommand(task_id="t", action=Action.OVERRIDE, outcome="deny", payload={}, reason=" ")
                )
            )
        assert store.events == [] and store.applied == 0

    def test_a_claim_whose_task_was_taken_meanwhile_takes_the_next(self, service, store):
        """When another reviewer's claim lands between the read and the write, the guard fails
        and the claim takes another candidate."""
        run(service.decide(CALLER, _cmd(0.8, request_id="r-1")))
        run(service.decide(CALLER, _cmd(0.8, request_id="r-2")))
        first, second = sorted(store.state.tasks.values(), key=lambda t: t.created_at)

        async def race():
            original = store.apply
            raced = []

            async def apply_after_a_rival(change):
                if not raced:  # a rival reviewer claims the same task just before us
                    raced.append(True)
                    task, d = first, store.state.decisions[first.decision_id]
                    rival, _, _ = service.plan_claim(ANA, task, d, service.clock.now(), timedelta(minutes=5))
                    await original(rival)
                return await original(change)

            store.apply = apply_after_a_rival
            try:
                return await service.claim_next(ALICE, "junior")
            finally:
                store.apply = original

        task, _ = run(race())
        assert task.task_id == second.task_id
        assert store.state.tasks[first.task_id].claimed_by == "ana"

    def test_a_second_submit_is_refused_and_writes_nothing(self, service, store):
        """Two submits of one task (two tabs): the second fails, the log has one sign-off."""
        run(service.decide(CALLER, _cmd(0.8)))
        task, _ = run(service.claim_next(ALICE, "junior"))
        cmd = SubmitCommand(task.task_id, Action.APPROVE)
        run(service.submit(ALICE, cmd))
        with pytest.raises(PreconditionFailed, match="already submitted"):
            run(service.submit(ALICE, cmd))
        assert [e.type for e in store.events].count("review_submitted") == 1

    def test_a_stale_submit_plan_fails_its_guard(self, service, store, clock):
        """A sign-off planned on a read of a task that changed since is Stale, alone."""
        run(service.decide(CALLER, _cmd(0.8)))
        task, d = run(service.claim_next(ALICE, "junior"))
        change, _, _ = service.plan_submit(ALICE, SubmitCommand(task.task_id, Action.APPROVE), task, d, clock.now())
        run(service.release(ALICE, task.task_id))
        with pytest.raises(Stale):
            run(store.apply(change))
        assert store.state.tasks[task.task_id].state is TaskState.OPEN


class TestReadRights:
    """Who may read a decision: requester, auditor, reviewers of its queue, its reviewer."""

    def test_a_junior_reviewer_cannot_read_a_senior_case(self, service):
        """A senior-queue decision is not readable with only the junior role."""
        d = run(service.decide(CALLER, _cmd(0.5)))
        assert d.queue == "senior"
        with pytest.raises(PermissionDenied):
            run(service.get_decision(ALICE, d.decision_id))
        assert run(service.get_decision(BOB, d.decision_id)) == d

    def test_requester_and_auditor_read_everything_of_theirs(self, service):
        """The requester and an auditor read any decision; another caller does not."""
        d = run(service.decide(CALLER, _cmd(0.5)))
        assert run(service.get_decision(CALLER, d.decision_id)) == d
        assert run(service.get_decision(CAROL, d.decision_id)) == d
        with pytest.raises(PermissionDenied):
            run(service.get_decision(Principal("other-svc", frozenset({"caller"})), d.decision_id))


ANA = Principal("ana", frozenset({"junior_adjuster"}))


class TestLeases:
    """Leases expire on the clock, not on a timer."""

    def test_lapsed_lease_blocks_submit_and_frees_the_task(self, service, clock):
        """After the lease, the holder cannot submit and the task can be claimed again."""
        run(service.decide(CALLER, _cmd(0.8)))
        task, _ = run(service.claim_next(ALICE, "junior", timedelta(minutes=5)))
        clock.advance(minutes=6)
        with pytest.raises(PreconditionFailed):
            run(service.submit(ALICE, SubmitCommand(task.task_id, Action.APPROVE)))
        again, _ = run(service.claim_next(ANA, "junior"))
        assert again.task_id == task.task_id and again.claimed_by == "ana"

    def test_claiming_a_lapsed_lease_records_its_release(self, service, store, clock):
        """Taking over a lapsed lease logs review_released (lease_expired) before the claim."""
        run(service.decide(CALLER, _cmd(0.8)))
        run(service.claim_next(ALICE, "junior", timedelta(minutes=5)))
        clock.advance(minutes=6)
        run(service.claim_next(ANA, "junior"))
        types = [e.type for e in store.events]
        assert types[-3:] == ["review_claimed", "review_released", "review_claimed"]
        assert store.events[-2].body["reason"] == "lease_expired"

    def test_expire_leases_writes_released_events(self, service, store, clock):
        """The sweeper returns lapsed tasks to the queue and logs why."""
        run(service.decide(CALLER, _cmd(0.8)))
        run(service.claim_next(ALICE, "junior", timedelta(seconds=30)))
        clock.advance(minutes=1)
        assert run(service.expire_leases()) == 1
        released = [e for e in store.events if e.type == "review_released"]
        assert released[0].body["reason"] == "lease_expired"
        assert all(t.state is TaskState.OPEN for t in store.state.tasks.values())


class TestSubmit:
    """submit() records what the human did."""

    def test_override_records_the_new_outcome(self, service):
        """OVERRIDE with a reason finalises with the reviewer's outcome."""
        run(service.decide(CALLER, _cmd(0.8)))
        task, _ = run(service.claim_next(ALICE, "junior"))
        d, _ = run(service.submit(ALICE, SubmitCommand(task.task_id, Action.OVERRIDE, "deny", reason="excluded peril")))
        assert (d.status, d.final_outcome, d.action) == (Status.HUMAN_DECIDED, "deny", Action.OVERRIDE)

    def test_override_to_same_outcome_is_refused(self, service):
        """An override that changes nothing is a caller mistake."""
        run(service.decide(CALLER, _cmd(0.8)))
        task, _ = run(service.claim_next(ALICE, "junior"))
        with pytest.raises(InvalidRequest) as err:
            run(service.submit(ALICE, SubmitCommand(task.task_id, Action.OVERRIDE, "approve", reason="r")))
        assert err.value.field == "outcome"

    def test_reject_needs_a_reason(self, service):
        """REJECT without a reason is refused before anything is written."""
        with pytest.raises(InvalidRequest) as err:
            run(service.submit(ALICE, SubmitCommand("t", Action.REJECT)))
        assert err.value.field == "reason"


class TestPolicyVersions:
    """Each policy version's text is stored once."""

    def test_new_version_logged_once(self, store, clock):
        """Recording the same policy twice logs policy_loaded once."""
        policy = load_policy(ROOT / "policies" / "claims-triage.yaml")
        assert run(record_policies(store, clock, [policy])) == 1
        assert run(record_policies(store, clock, [policy])) == 0
        assert [e.type for e in store.events] == ["policy_loaded"]

    def test_same_version_other_text_conflicts_and_stores_nothing(self, store, clock):
        """A version reused with other content is Conflict; the stored text stays."""
        policy = load_policy(ROOT / "policies" / "claims-triage.yaml")
        run(record_policies(store, clock, [policy]))
        forged = dataclasses.replace(policy, ref=dataclasses.replace(policy.ref, digest="sha256:" + "f" * 64))
        with pytest.raises(Conflict):
            run(record_policies(store, clock, [forged]))
        assert len(store.events) == 1
