"""SLA timeouts on the fakes with a clock that moves only when told: expire, escalate, decide, once."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from gateway.errors import PreconditionFailed
from gateway.policy import load_policy
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Principal, Proposal, Status, TaskState
from gateway.review.service import ReviewService
from gateway.review.timers import fire_timeouts
from tests.policy.conftest import BASE, REPO
from tests.review.fakes import CountingIds, FakeClock, FakePolicies, FakeStore, NullNotifier

EXAMPLE = REPO / "docs" / "examples" / "claims-review-depth.yaml"
CALLER = Principal("svc", frozenset({"caller"}))
ALICE = Principal("alice", frozenset({"junior_adjuster"}))
BOB = Principal("bob", frozenset({"senior_adjuster"}))
run = asyncio.run


def service_for(policy, store: FakeStore, clock: FakeClock) -> ReviewService:
    """The use cases over the fakes with one policy."""
    return ReviewService(store, FakePolicies(policy), clock, CountingIds(), NullNotifier())


def claim_cmd(confidence: float = 0.8, request_id: str = "r1") -> DecideCommand:
    """A claims.payout request; 0.8 lands in the junior queue of the example policy."""
    return DecideCommand(
        request_id=request_id,
        decision_type="claims.payout",
        subject_ref="s",
        input={"amount": 900, "claim_type": "home"},
        proposal=Proposal("approve", confidence),
    )


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when told."""
    return FakeClock()


@pytest.fixture
def store() -> FakeStore:
    """An in-memory unit of work."""
    return FakeStore()


@pytest.fixture
def service(store, clock) -> ReviewService:
    """The example policy: junior escalates to senior after 4h; senior expires after 1d."""
    return service_for(load_policy(EXAMPLE), store, clock)


class TestDueTimes:
    """Stored due times."""

    def test_task_stores_warning_and_due_times(self, service, store, clock):
        """A task in a queue with an SLA stores creation plus warn and due."""
        run(service.decide(CALLER, claim_cmd()))
        (task,) = store.state.tasks.values()
        assert (task.warn_at, task.due_at) == (clock.now() + timedelta(hours=3), clock.now() + timedelta(hours=4))

    def test_nothing_fires_before_due(self, service, clock):
        """One second before the due time the timer does nothing."""
        run(service.decide(CALLER, claim_cmd()))
        clock.advance(hours=4, seconds=-1)
        assert run(fire_timeouts(service)) == []


class TestEscalate:
    """junior: escalate to senior."""

    def test_escalates_to_the_named_queue_with_its_sla(self, service, store, clock):
        """At the due time the task closes and a senior task opens, due a day later."""
        d = run(service.decide(CALLER, claim_cmd()))
        clock.advance(hours=4)
        assert run(fire_timeouts(service)) == [("junior", "escalate")]
        tasks = sorted(store.state.tasks.values(), key=lambda t: t.created_at)
        assert [(t.queue, t.state) for t in tasks] == [("junior", TaskState.DONE), ("senior", TaskState.OPEN)]
        assert tasks[1].due_at == clock.now() + timedelta(days=1)
        now = run(service.get_decision(CALLER, d.decision_id))
        assert (now.status, now.queue) == (Status.PENDING_REVIEW, "senior")
        assert store.events[-1].type == "timeout_action" and store.events[-1].body["to_queue"] == "senior"

    def test_a_claimed_task_times_out_too(self, service, store, clock):
        """A reviewer holding the task at the due time loses it to the timeout: fail closed, never wait for ever."""
        run(service.decide(CALLER, claim_cmd()))
        task, _ = run(service.claim_next(ALICE, "junior", timedelta(hours=8)))
        clock.advance(hours=4)
        assert run(fire_timeouts(service)) == [("junior", "escalate")]
        with pytest.raises(PreconditionFailed):
            run(service.submit(ALICE, SubmitCommand(task.task_id, Action.APPROVE)))


class TestExpire:
    """senior: expire."""

    def test_expired_decision_is_final_and_says_so(self, service, store, clock):
        """After junior's 4h and senior's 1d the decision is EXPIRED, final, with no outcome decided."""
        d = run(service.decide(CALLER, claim_cmd()))
        clock.advance(hours=4)
        run(fire_timeouts(service))
        clock.advance(days=1)
        assert run(fire_timeouts(service)) == [("senior", "expire")]
        now = run(service.get_decision(CALLER, d.decision_id))
        assert now.status is Status.EXPIRED and now.status.final and now.final_outcome == ""
        assert [e.type for e in store.events][-2:] == ["timeout_action", "decision_finalized"]
        assert store.events[-1].body["by"] == "timeout"

    def test_watch_ends_with_expired(self, service, clock):
        """A watcher sees EXPIRED as the last state."""
        d = run(service.decide(CALLER, claim_cmd(0.5)))  # low confidence: senior
        clock.advance(days=1)
        run(fire_timeouts(service))

        async def states():
            return [x.status async for x in service.watch(CALLER, d.decision_id)]

        assert run(states()) == [Status.EXPIRED]


class TestDecide:
    """A timeout that decides a stated outcome (allowed by lint only where it is not adverse or not significant)."""

    def test_decides_the_stated_outcome(self, tmp_path: Path, store, clock):
        """The decision is finalized by the timer with the outcome the policy states."""
        doc = copy.deepcopy(BASE)
        doc["queues"]["junior"]["sla"] = {"due": "2h", "on_timeout": {"action": "decide", "outcome": "deny"}}
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump(doc))
        service = service_for(load_policy(path), store, clock)
        d = run(
            service.decide(
                CALLER,
                DecideCommand(
                    request_id="r",
                    decision_type="loans.approval",
                    subject_ref="s",
                    input={"amount": 5},
                    proposal=Proposal("approve", 0.5),
                ),
            )
        )
        clock.advance(hours=2)
        assert run(fire_timeouts(service)) == [("junior", "decide")]
        now = run(service.get_decision(CALLER, d.decision_id))
        assert (now.status, now.final_outcome) == (Status.AUTO_DECIDED, "deny")


class TestOnce:
    """A timer fires once, however many replicas run it."""

    def test_second_run_finds_nothing(self, service, clock):
        """Firing again after a timeout applied does nothing more."""
        run(service.decide(CALLER, claim_cmd(0.5)))
        clock.advance(days=1)
        assert len(run(fire_timeouts(service))) == 1
        assert run(fire_timeouts(service)) == []

    def test_two_services_racing_fire_once(self, store, clock):
        """Two services over one store firing at the same moment: one timeout event per task."""
        policy = load_policy(EXAMPLE)
        first, second = service_for(policy, store, clock), service_for(policy, store, clock)
        for i in range(5):
            run(first.decide(CALLER, claim_cmd(0.5, request_id=f"r{i}")))
        clock.advance(days=1)

        async def race():
            return await asyncio.gather(fire_timeouts(first), fire_timeouts(second))

        a, b = run(race())
        assert len(a) + len(b) == 5
        assert sum(e.type == "timeout_action" for e in store.events) == 5

    def test_submit_before_the_timer_wins(self, service, store, clock):
        """A decision signed off before the due time is never touched by the timer."""
        d = run(service.decide(CALLER, claim_cmd(0.5)))
        task, _ = run(service.claim_next(BOB, "senior"))
        run(service.submit(BOB, SubmitCommand(task.task_id, Action.APPROVE)))
        clock.advance(days=2)
        assert run(fire_timeouts(service)) == []
        assert run(service.get_decision(CALLER, d.decision_id)).status is Status.HUMAN_DECIDED
