"""SLA timers on the real stores (SQLite file, PostgreSQL): due times stored, survive a restart, fire once.

The two-replica test runs two ``SqlStore`` instances (two writers, two engines) on one database,
each with its own service, and fires every due timer from both at once: each timeout is written
exactly once, because the loser's guarded update finds the task already done.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta

from sqlalchemy import Engine, select

from audit.schema import audit_events
from gateway.adapters import SqlStore, make_engine
from gateway.policy import load_policy
from gateway.review.commands import DecideCommand
from gateway.review.model import Principal, Proposal, Status, TaskState
from gateway.review.service import ReviewService
from gateway.review.timers import fire_timeouts
from gateway.runtime import UuidIds
from tests.policy.conftest import REPO
from tests.review.fakes import FakeClock, FakePolicies, NullNotifier

POLICY = load_policy(REPO / "docs" / "examples" / "claims-review-depth.yaml")
CALLER = Principal("svc", frozenset({"caller"}))


def service_on(store: SqlStore, clock: FakeClock) -> ReviewService:
    """The use cases over a real store with the example policy and a fake clock."""
    return ReviewService(store, FakePolicies(POLICY), clock, UuidIds(), NullNotifier())


def held(service: ReviewService, n: int, confidence: float = 0.5) -> list[str]:
    """``n`` held decisions (0.5 routes to senior: expires after a day); their ids."""

    async def go() -> list[str]:
        out = []
        for i in range(n):
            d = await service.decide(
                CALLER,
                DecideCommand(
                    request_id=f"r{i}",
                    decision_type="claims.payout",
                    subject_ref="s",
                    input={"amount": 900, "claim_type": "home"},
                    proposal=Proposal("approve", confidence),
                ),
            )
            out.append(d.decision_id)
        return out

    return asyncio.run(go())


def timeout_events(engine: Engine) -> list[tuple[str, str]]:
    """(decision id, action) of every timeout_action event in the log."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_events.c.decision_id, audit_events.c.body_json).where(audit_events.c.type == "timeout_action")
        ).all()
    return sorted((r.decision_id, json.loads(r.body_json)["action"]) for r in rows)


class TestStoredDueTimes:
    """The store keeps the due times and reads the due tasks."""

    def test_due_times_round_trip_and_due_tasks_read(self, store, engine):
        """Tasks keep warn_at and due_at; due_tasks returns those due, earliest first, never done ones."""
        clock = FakeClock()
        service = service_on(store, clock)
        held(service, 1, confidence=0.5)  # senior, due in 1 day
        held_junior = service_on(store, clock)
        clock.advance(hours=1)
        asyncio.run(
            held_junior.decide(
                CALLER,
                DecideCommand(
                    request_id="j",
                    decision_type="claims.payout",
                    subject_ref="s",
                    input={"amount": 900, "claim_type": "home"},
                    proposal=Proposal("approve", 0.8),
                ),
            )
        )  # junior, due in 4h
        tasks = store.read(
            lambda tx: [t for t in tx.open_tasks("senior", clock.now(), 10)] + tx.open_tasks("junior", clock.now(), 10)
        )
        assert sorted((t.queue, t.due_at - t.created_at) for t in tasks) == [
            ("junior", timedelta(hours=4)),
            ("senior", timedelta(days=1)),
        ]
        assert store.read(lambda tx: tx.due_tasks(clock.now(), 10)) == []
        later = clock.now() + timedelta(days=2)
        assert [t.queue for t in store.read(lambda tx: tx.due_tasks(later, 10))] == ["junior", "senior"]


class TestFiring:
    """The timeout through the real store."""

    def test_expire_is_written_and_survives_a_restart(self, engine, db_url):
        """A due time stored before a restart fires after it, from a new store and service."""
        clock = FakeClock()
        first = SqlStore(engine)
        ids = held(service_on(first, clock), 2)
        first.close()
        clock.advance(days=1)
        second = SqlStore(make_engine(db_url))
        try:
            service = service_on(second, clock)
            assert asyncio.run(fire_timeouts(service)) == [("senior", "expire")] * 2
            statuses = second.read(lambda tx: [tx.decision(i).status for i in ids])
            assert statuses == [Status.EXPIRED, Status.EXPIRED]
            assert second.read(lambda tx: tx.due_tasks(clock.now(), 10)) == []
        finally:
            second.close()
        assert timeout_events(engine) == sorted((i, "expire") for i in ids)

    def test_escalation_moves_the_task(self, store, engine):
        """A junior task due escalates: done in junior, open in senior, the decision pending in senior."""
        clock = FakeClock()
        service = service_on(store, clock)
        (decision_id,) = held(service, 1, confidence=0.8)
        clock.advance(hours=4)
        assert asyncio.run(fire_timeouts(service)) == [("junior", "escalate")]
        tasks = store.read(lambda tx: tx.tasks_for_decision(decision_id))
        assert sorted((t.queue, t.state) for t in tasks) == [("junior", TaskState.DONE), ("senior", TaskState.OPEN)]
        assert store.read(lambda tx: tx.decision(decision_id)).queue == "senior"


class TestTwoReplicas:
    """Two replicas, each its own store and writer, on one database."""

    def test_each_timeout_fires_once(self, engine, db_url):
        """Both replicas fire every due timer at once; each timeout is written exactly once."""
        clock = FakeClock()
        setup = SqlStore(engine)
        ids = held(service_on(setup, clock), 12)
        setup.close()
        clock.advance(days=1)
        stores = [SqlStore(make_engine(db_url)), SqlStore(make_engine(db_url))]
        fired: list[list[tuple[str, str]]] = [[], []]
        start = threading.Barrier(2)

        def replica(k: int) -> None:
            service = service_on(stores[k], clock)
            start.wait()
            fired[k] = asyncio.run(fire_timeouts(service))

        threads = [threading.Thread(target=replica, args=(k,)) for k in range(2)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            for s in stores:
                s.close()
        assert len(fired[0]) + len(fired[1]) == 12
        assert timeout_events(engine) == sorted((i, "expire") for i in ids)
