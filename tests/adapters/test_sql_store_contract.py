"""The Store port's contract, run against every backend (SQLite file; PostgreSQL when set;
the in-memory fake of ``tests/review/fakes.py`` too, where no SQL is involved)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from audit import CHAIN_LOCK_KEY, AuditLog, NewEvent, canonical_json
from gateway.adapters import SqlStore, make_engine
from gateway.errors import Conflict, Stale, StoreUnavailable
from gateway.policy.model import PolicyRef
from gateway.review.change import Applied, Change, Update
from gateway.review.gold import StoredGold
from gateway.review.model import (
    Action,
    Correction,
    Decision,
    Proposal,
    Status,
    Task,
    TaskKind,
    TaskState,
)
from gateway.review.ports import StoredPolicy
from tests.review.fakes import FakeStore

T0 = datetime(2026, 11, 24, 12, 0, 0, 123456, tzinfo=UTC)


def decision(n: int | str, **changes: Any) -> Decision:
    """A held claims decision numbered ``n``."""
    base = Decision(
        decision_id=f"d-{n}",
        request_id=f"r-{n}",
        request_digest="sha256:" + "a" * 64,
        decision_type="claims.payout",
        subject_ref=f"subj-{n}",
        input={"amount": 1250.5, "lines": [1, 2], "note": "vidrio roto"},
        proposal=Proposal(
            outcome="pay",
            confidence=0.81,
            scores={"pay": 0.81, "deny": 0.19},
            model="claims-gbm",
            model_version="7.1",
            explanation="similar to 40 paid claims",
        ),
        requested_by="claims-svc",
        status=Status.PENDING_REVIEW,
        route="junior",
        queue="junior",
        rule="mid_confidence",
        reasons=("confidence 0.81 in [0.70, 0.92)",),
        policy_name="claims-triage",
        policy_version=3,
        policy_digest="sha256:" + "b" * 64,
        created_at=T0,
    )
    return replace(base, **changes)


def task(n: int | str, *, queue: str = "junior", age: int = 0, **changes: Any) -> Task:
    """An open review task for decision ``n``, created ``age`` seconds after T0."""
    base = Task(
        task_id=f"t-{n}",
        decision_id=f"d-{n}",
        queue=queue,
        kind=TaskKind.REVIEW,
        state=TaskState.OPEN,
        created_at=T0 + timedelta(seconds=age),
        requested_by="claims-svc",
    )
    return replace(base, **changes)


def event(d: Decision, type_: str = "decision_received") -> NewEvent:
    """An audit event about ``d``."""
    body = {"route": d.route}
    return NewEvent(
        type=type_,
        time=T0,
        actor=d.requested_by,
        decision_id=d.decision_id,
        policy_name=d.policy_name,
        policy_version=d.policy_version,
        policy_digest=d.policy_digest,
        body=body,
        decision_type=d.decision_type,
        body_json=canonical_json(body),
    )


def hold(d: Decision, t: Task | None = None) -> Change:
    """The Change storing a held decision, its task and an event."""
    return Change(
        inserts=(d,) if t is None else (d, t),
        events=(event(d),),
        request_key=(d.requested_by, d.request_id),
    )


async def _apply(store: Any, change: Change) -> Applied:
    return await store.apply(change)


def apply(store: Any, change: Change) -> Applied:
    """Apply ``change`` and wait until it is durable (from a plain thread)."""
    return asyncio.run(_apply(store, change))


def claim(store: Any, queue: str, claimer: str, now: datetime = T0 + timedelta(hours=1)) -> Task | None:
    """Lease the oldest claimable task of ``queue`` to ``claimer`` for five minutes, as the
    claim use case does: read the candidates, then a guarded update (the next one if taken)."""
    for attempt in range(20):
        found = store.read(lambda tx: tx.claimable(queue, now, claimer, 20))
        if not found:
            return None
        t = found[attempt % len(found)]
        leased = replace(
            t, state=TaskState.CLAIMED, claimed_by=claimer, claimed_at=now, lease_expires_at=now + timedelta(minutes=5)
        )
        guard = {"state": t.state, "claimed_by": t.claimed_by, "lease_expires_at": t.lease_expires_at}
        try:
            apply(store, Change(updates=(Update(leased, guard, "taken"),)))
        except Stale:
            continue
        return leased
    raise AssertionError("could not claim in 20 tries")


def _events(store: Any) -> list[Any]:
    """Every event in the store's log, in order."""
    if isinstance(store, FakeStore):
        return list(store.events)
    with store.engine.connect() as conn:
        return list(store.audit.iter_events(conn))


@contextlib.contextmanager
def writer_blocked(engine: Engine) -> Iterator[None]:
    """Hold the database's write lock (SQLite) or the chain's advisory lock (PostgreSQL), so
    the store's writer waits at the start of its next transaction until this block ends."""
    with engine.connect() as conn:
        conn.execution_options(signoff_write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK_KEY})
            yield


def in_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(0..n-1)`` on ``n`` threads started together; results (or errors) in order."""
    out: list[Any] = [None] * n
    gate = threading.Barrier(n)

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


class TestDecisions:
    def test_round_trip_keeps_every_field(self, store: SqlStore) -> None:
        """A decision with every field set reads back equal, with aware UTC datetimes."""
        cet = timezone(timedelta(hours=1))
        d = decision(
            1,
            status=Status.HUMAN_DECIDED,
            significant=True,
            final_outcome="deny",
            final_payload={"amount": 0, "why": ["fraud"]},
            action=Action.OVERRIDE,
            reviewer="ana",
            review_reason="photos predate policy",
            decided_at=T0.astimezone(cet) + timedelta(minutes=3),
            sampled=True,
            sample_probability=0.05,
            correction=Correction(
                outcome="deny",
                payload={"k": "v"},
                action=Action.OVERRIDE,
                reviewer="ana",
                reason="audit",
                at=T0 + timedelta(days=1),
            ),
        )
        apply(store, Change(inserts=(d,)))

        got = store.read(lambda tx: tx.decision("d-1"))

        assert got == d
        assert got is not None and got.decided_at is not None
        assert got.created_at.tzinfo == UTC and got.decided_at.tzinfo == UTC

    def test_lookup_by_request_id(self, store: SqlStore) -> None:
        """A decision is found by its caller's request id."""
        apply(store, Change(inserts=(decision(1),)))

        got = store.read(lambda tx: tx.decision_by_request("claims-svc", "r-1"))

        assert got is not None and got.decision_id == "d-1"

    def test_unknown_decision_reads_none(self, store: SqlStore) -> None:
        """Reading a decision that was never stored gives None."""
        assert store.read(lambda tx: tx.decision("nope")) is None

    def test_request_id_is_unique_per_caller(self, store: SqlStore) -> None:
        """A second decision with a caller's taken request id raises Conflict and is not stored."""
        apply(store, Change(inserts=(decision(1),)))

        with pytest.raises(Conflict):
            apply(store, Change(inserts=(decision(2, request_id="r-1"),)))

        assert store.read(lambda tx: tx.decision("d-2")) is None

    def test_request_ids_of_two_callers_never_meet(self, store: SqlStore) -> None:
        """Two callers may use the same request id; each finds only its own decision."""
        apply(store, hold(decision(1)))
        applied = apply(store, hold(decision(2, request_id="r-1", requested_by="other-svc")))

        mine = store.read(lambda tx: tx.decision_by_request("claims-svc", "r-1"))
        theirs = store.read(lambda tx: tx.decision_by_request("other-svc", "r-1"))

        assert applied.prior is None
        assert mine is not None and mine.decision_id == "d-1"
        assert theirs is not None and theirs.decision_id == "d-2"

    def test_a_stored_request_key_answers_with_the_stored_decision(self, store: SqlStore) -> None:
        """A Change whose request key is stored writes nothing and returns the stored decision."""
        apply(store, hold(decision(1)))

        applied = apply(store, hold(decision(2, request_id="r-1"), task(2)))

        assert applied.prior == decision(1) and applied.receipts == ()
        assert store.read(lambda tx: (tx.decision("d-2"), tx.task("t-2"))) == (None, None)

    def test_update_persists(self, store: SqlStore) -> None:
        """A guarded update whose guard holds reads back with its new state."""
        d = decision(1)
        apply(store, Change(inserts=(d,)))
        done = replace(d, status=Status.HUMAN_DECIDED, final_outcome="pay", decided_at=T0)

        apply(store, Change(updates=(Update(done, {"status": Status.PENDING_REVIEW}, "moved"),)))

        assert store.read(lambda tx: tx.decision("d-1")) == done

    def test_a_guard_that_fails_fails_its_change_alone_and_writes_nothing(self, store: SqlStore) -> None:
        """An update whose expected state no longer holds is Stale with its message; the
        Change's other writes and events are not stored."""
        d = decision(1)
        apply(store, hold(d, task(1)))
        done = replace(d, status=Status.HUMAN_DECIDED, final_outcome="pay", decided_at=T0)
        change = Change(
            inserts=(decision(2),),
            updates=(Update(done, {"status": (Status.IN_REVIEW, Status.AUTO_DECIDED)}, "decision d-1 moved"),),
            events=(event(d, "decision_finalized"),),
        )

        with pytest.raises(Stale, match="decision d-1 moved"):
            apply(store, change)

        assert store.read(lambda tx: (tx.decision("d-1"), tx.decision("d-2"))) == (d, None)
        assert [e.type for e in _events(store)] == ["decision_received"]

    def test_guards_compare_times_and_unset_values(self, store: SqlStore) -> None:
        """A task guard on holder and lease end (None or a time) holds only on exact values."""
        apply(store, hold(decision(1), task(1)))
        leased = claim(store, "junior", "ana")
        assert leased is not None
        stale = replace(leased, state=TaskState.DONE)

        with pytest.raises(Stale):
            apply(store, Change(updates=(Update(stale, {"lease_expires_at": None}, "x"),)))
        apply(
            store,
            Change(updates=(Update(stale, {"claimed_by": "ana", "lease_expires_at": leased.lease_expires_at}, "x"),)),
        )

        assert store.read(lambda tx: tx.task("t-1")) == stale

    def test_update_of_unknown_decision_is_stale(self, store: SqlStore) -> None:
        """Updating a decision that does not exist is Stale: nothing matched the guard."""
        with pytest.raises(Stale):
            apply(store, Change(updates=(Update(decision(9), {"status": Status.PENDING_REVIEW}, "gone"),)))

    def test_receipts_name_each_event_in_the_chain(self, store: SqlStore) -> None:
        """A Change's receipts give its events' seq and hash as the log stored them."""
        apply(store, hold(decision(1)))

        applied = apply(
            store, Change(inserts=(decision(2),), events=(event(decision(2)), event(decision(2), "routed")))
        )

        stored = _events(store)
        assert [(r.seq, r.hash) for r in applied.receipts] == [(e.seq, e.hash) for e in stored[1:]]


class TestTasks:
    def test_tasks_for_decision(self, store: SqlStore) -> None:
        """Tasks are listed per decision."""
        apply(store, hold(decision(1), task(1)))

        assert store.read(lambda tx: tx.tasks_for_decision("d-1")) == [task(1)]

    def test_claim_takes_the_oldest_first(self, store: SqlStore) -> None:
        """claim_next leases the task created first."""
        for n, age in ((1, 30), (2, 10), (3, 20)):
            apply(store, hold(decision(n), task(n, age=age)))

        got = claim(store, "junior", "ana")

        assert got is not None and got.task_id == "t-2"
        assert got.state is TaskState.CLAIMED and got.claimed_by == "ana"

    def test_claim_persists_the_lease(self, store: SqlStore) -> None:
        """The claimed task reads back leased to the claimer until the lease end."""
        apply(store, hold(decision(1), task(1)))
        now = T0 + timedelta(hours=1)

        claim(store, "junior", "ana", now)

        got = store.read(lambda tx: tx.task("t-1"))
        assert got is not None and got.claimed_by == "ana"
        assert got.lease_expires_at == now + timedelta(minutes=5)

    def test_claim_skips_leased_tasks(self, store: SqlStore) -> None:
        """A task under a live lease is not claimed again."""
        apply(store, hold(decision(1), task(1)))
        claim(store, "junior", "ana")

        assert claim(store, "junior", "bob") is None

    def test_claim_takes_lapsed_leases(self, store: SqlStore) -> None:
        """A task whose lease ended is claimable by someone else."""
        apply(store, hold(decision(1), task(1)))
        claim(store, "junior", "ana", T0)

        got = claim(store, "junior", "bob", T0 + timedelta(minutes=6))

        assert got is not None and got.task_id == "t-1" and got.claimed_by == "bob"

    def test_claim_takes_the_older_of_a_lapsed_lease_and_an_open_task(self, store: SqlStore) -> None:
        """Open and lapsed tasks compete by age: the oldest claimable one is leased first."""
        apply(store, hold(decision(1), task(1, age=0)))
        claim(store, "junior", "ana", T0)  # t-1 leased until T0 + 5 min
        apply(store, hold(decision(2), task(2, age=10)))
        later = T0 + timedelta(minutes=6)

        first = claim(store, "junior", "bob", later)
        second = claim(store, "junior", "cid", later)

        assert first is not None and first.task_id == "t-1"  # the lapsed one is older
        assert second is not None and second.task_id == "t-2"
        listed = store.read(lambda tx: tx.open_tasks("junior", later + timedelta(minutes=6), 10))
        assert [t.task_id for t in listed] == ["t-1", "t-2"]  # both leases lapsed again, by age

    def test_claim_respects_separation_of_duties(self, store: SqlStore) -> None:
        """A principal never claims a task for a decision it requested."""
        apply(store, hold(decision(1), task(1, age=0, requested_by="ana")))
        apply(store, hold(decision(2), task(2, age=5)))

        got = claim(store, "junior", "ana")

        assert got is not None and got.task_id == "t-2"

    def test_claim_stays_in_its_queue(self, store: SqlStore) -> None:
        """claim_next never hands out a task from another queue."""
        apply(store, hold(decision(1), task(1, queue="senior")))

        assert claim(store, "junior", "ana") is None

    def test_concurrent_claims_never_share_a_task(self, engine: Engine) -> None:
        """Eight threads claiming from two stores (as two replicas) never get the same task."""
        a, b = SqlStore(engine), SqlStore(engine)
        try:
            for n in range(12):
                apply(a, hold(decision(n), task(n, age=n)))

            got = in_threads(16, lambda i: claim(a if i % 2 else b, "junior", f"r{i}"))
        finally:
            a.close()
            b.close()

        ids = [t.task_id for t in got if isinstance(t, Task)]
        assert len(ids) == 12 and len(set(ids)) == 12
        assert [g for g in got if not isinstance(g, Task)] == [None] * 4

    def test_open_tasks_hide_live_leases(self, store: SqlStore) -> None:
        """open_tasks lists claimable tasks oldest first, not those under a live lease."""
        for n in range(3):
            apply(store, hold(decision(n), task(n, age=n)))
        claim(store, "junior", "ana")

        got = store.read(lambda tx: tx.open_tasks("junior", T0 + timedelta(hours=1), 10))

        assert [t.task_id for t in got] == ["t-1", "t-2"]

    def test_lapsed_leases_are_listed(self, store: SqlStore) -> None:
        """lapsed_leases returns claimed tasks whose lease ended."""
        apply(store, hold(decision(1), task(1)))
        claim(store, "junior", "ana", T0)

        got = store.read(lambda tx: tx.lapsed_leases(T0 + timedelta(minutes=6), 10))

        assert [t.task_id for t in got] == ["t-1"]

    def test_queue_depths_count_undone_tasks(self, store: SqlStore) -> None:
        """queue_depths gives each queue's undone count and oldest creation time."""
        apply(store, hold(decision(1), task(1, age=5)))
        apply(store, hold(decision(2), task(2, age=9)))
        apply(store, hold(decision(3), task(3, queue="senior", state=TaskState.DONE)))

        got = store.read(lambda tx: tx.queue_depths(T0))

        assert got == {"junior": (2, T0 + timedelta(seconds=5))}


class TestGroupCommit:
    def test_failing_change_leaves_no_trace_while_its_batch_commits(self, store: SqlStore) -> None:
        """A Change whose guard fails loses its inserts and events; the Changes queued with it
        (held back behind a writer blocked on the database's write lock) commit."""
        stale = Change(
            inserts=(decision(2), task(2)),
            updates=(Update(decision(99), {"status": Status.PENDING_REVIEW}, "no such decision"),),
            events=(event(decision(2)),),
        )
        changes = [hold(decision(1)), stale, hold(decision(3))]

        async def run() -> list[Any]:
            with writer_blocked(store.engine):
                gate = store.apply(hold(decision(0)))
                await asyncio.sleep(0.2)  # the writer takes the gate and waits for the lock
                before = store.committed_batches
                futures = [store.apply(c) for c in changes]
            results = await asyncio.gather(gate, *futures, return_exceptions=True)
            return [before, *results]

        before, _, first, failed, third = asyncio.run(run())

        assert isinstance(failed, Stale) and isinstance(first, Applied) and isinstance(third, Applied)
        assert store.committed_batches - before <= 2  # the gate's batch, then the other three
        assert store.read(lambda tx: (tx.decision("d-2"), tx.task("t-2"))) == (None, None)
        assert sorted(e.decision_id for e in _events(store)) == ["d-0", "d-1", "d-3"]

    def test_concurrent_writes_share_batches(self, store: SqlStore) -> None:
        """Two hundred concurrent writes commit in fewer than two hundred transactions."""
        before = store.committed_batches

        in_threads(200, lambda i: apply(store, hold(decision(i))))

        assert store.committed_batches - before < 200

    def test_concurrent_writers_give_a_gap_free_verified_chain(self, engine: Engine) -> None:
        """Writers on two stores (as two replicas) append one chain without gaps or forks."""
        a, b = SqlStore(engine, batch_max=8), SqlStore(engine, batch_max=8)
        try:
            in_threads(
                40,
                lambda i: [apply(a if i % 2 else b, hold(decision(f"{i}-{k}"))) for k in range(3)],
            )
        finally:
            a.close()
            b.close()

        report = AuditLog().verify(engine)

        assert report.ok and report.count == 120 and report.head_seq == 120

    def test_commit_failure_fails_every_op_with_store_unavailable(self, store: SqlStore) -> None:
        """When the batch's audit insert fails, the op gets StoreUnavailable and nothing stays."""
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_gone"))

        with pytest.raises(StoreUnavailable):
            apply(store, hold(decision(1)))

        assert store.read(lambda tx: tx.decision("d-1")) is None

    def test_failed_read_is_store_unavailable(self, store: SqlStore) -> None:
        """A read the database cannot answer raises StoreUnavailable, not a driver error."""
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE decisions RENAME TO decisions_gone"))

        with pytest.raises(StoreUnavailable):
            store.read(lambda tx: tx.decision("d-1"))

    def test_on_commit_hears_touched_decisions(self, engine: Engine) -> None:
        """The on_commit hook receives the decision ids of the committed batch's events."""
        heard: list[set[str]] = []
        with SqlStore(engine, on_commit=heard.append) as s:
            apply(s, hold(decision(1)))

        assert heard == [{"d-1"}]

    def test_closed_store_refuses_writes(self, engine: Engine) -> None:
        """A write after close raises StoreUnavailable."""
        s = SqlStore(engine)
        s.close()

        with pytest.raises(StoreUnavailable):
            apply(s, hold(decision(1)))

    def test_events_get_the_decision_type(self, store: SqlStore) -> None:
        """Appended events carry their decision's type, so the log can be filtered by it."""
        apply(store, hold(decision(1)))

        with store.engine.connect() as conn:
            got = list(store.audit.iter_events(conn, decision_type="claims.payout"))

        assert [e.decision_id for e in got] == ["d-1"]


class TestAuditLog:
    def test_chain_verifies_after_writes(self, store: SqlStore) -> None:
        """After ordinary writes the chain verifies and its head is the last event."""
        for n in range(5):
            apply(store, hold(decision(n), task(n)))

        report = store.audit.verify(store.engine)

        assert report.ok and report.count == 5 and report.head_seq == 5

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
        ],
        ids=["update", "delete"],
    )
    def test_triggers_refuse_changes(self, store: SqlStore, sql: str) -> None:
        """The database itself refuses UPDATE and DELETE on audit_events."""
        apply(store, hold(decision(1)))

        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))

        assert store.audit.verify(store.engine).count == 1

    def test_emptying_the_whole_table_is_refused(self, store: SqlStore) -> None:
        """PostgreSQL refuses TRUNCATE; SQLite has none, and its unconditional DELETE (which
        it would run as a truncate) is refused by the trigger too. The log keeps its event."""
        apply(store, hold(decision(1)))
        sql = "TRUNCATE audit_events" if store.engine.dialect.name == "postgresql" else "DELETE FROM audit_events"

        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))

        assert store.audit.verify(store.engine).count == 1


class TestPolicies:
    POLICY = StoredPolicy(
        ref=PolicyRef("claims-triage", 3, "sha256:" + "c" * 64),
        decision_type="claims.payout",
        text="metadata: {name: claims-triage, version: 3}\n",
        loaded_at=T0,
    )

    def test_store_policy_stores_once(self, store: SqlStore) -> None:
        """The first store of a version is new; storing it again is not."""
        first = apply(store, Change(inserts=(self.POLICY,)))

        with pytest.raises(Conflict):  # stored already: a Change planned on an old read fails
            apply(store, Change(inserts=(self.POLICY,)))

        assert isinstance(first, Applied)
        assert store.read(lambda tx: tx.policies()) == [self.POLICY]

    def test_same_version_with_other_digest_conflicts(self, store: SqlStore) -> None:
        """The same name and version with a different digest raises Conflict."""
        apply(store, Change(inserts=(self.POLICY,)))
        forged = replace(self.POLICY, ref=PolicyRef("claims-triage", 3, "sha256:" + "d" * 64))

        with pytest.raises(Conflict):
            apply(store, Change(inserts=(forged,)))

        assert store.read(lambda tx: tx.policy("claims-triage", 3)) == self.POLICY


class TestGold:
    CASE = StoredGold(
        case_id="g-1",
        decision_type="claims.payout",
        name="flood is excluded",
        input={"amount": 4200, "claim_type": "home"},
        outcome="approve",
        confidence=0.84,
        expected="deny",
        explanation="similar claims paid",
        scores={"approve": 0.84},
        subject_ref="cust-9",
        source="gold.yaml:5",
        loaded_by="ines",
        loaded_at=T0,
    )

    def test_gold_cases_round_trip_by_type_and_id(self, store: SqlStore) -> None:
        """A stored case reads back equal, listed under its decision type and found by its id."""
        apply(store, Change(inserts=(self.CASE,)))

        assert store.read(lambda tx: tx.gold_cases("claims.payout")) == [self.CASE]
        assert store.read(lambda tx: tx.gold_case("g-1")) == self.CASE
        assert store.read(lambda tx: tx.gold_cases("loans.approval")) == []
        assert store.read(lambda tx: tx.gold_case("nope")) is None

    def test_a_retired_case_is_not_listed_but_still_found(self, store: SqlStore) -> None:
        """Retired: no longer among the cases to inject, still there by id (past sign-offs keep their score)."""
        retired = replace(self.CASE, retired_at=T0, retired_by="ines", retire_reason="answer key revised")
        apply(store, Change(inserts=(retired,)))

        assert store.read(lambda tx: tx.gold_cases("claims.payout")) == []
        assert store.read(lambda tx: tx.gold_case("g-1")) == retired

    def test_a_case_id_is_stored_once(self, store: SqlStore) -> None:
        """Loading the same case id again is Conflict; the first stays."""
        apply(store, Change(inserts=(self.CASE,)))

        with pytest.raises(Conflict):
            apply(store, Change(inserts=(replace(self.CASE, expected="approve"),)))

        assert store.read(lambda tx: tx.gold_case("g-1")) == self.CASE

    def test_a_gold_decision_keeps_its_case_id(self, store: SqlStore) -> None:
        """The decision a case became reads back with ``gold_case_id``; a real one has none."""
        apply(store, Change(inserts=(self.CASE, decision(1, gold_case_id="g-1"), decision(2))))

        assert store.read(lambda tx: tx.decision("d-1")).gold_case_id == "g-1"  # type: ignore[union-attr]
        assert store.read(lambda tx: tx.decision("d-2")).gold_case_id == ""  # type: ignore[union-attr]


class TestDurability:
    def test_decision_survives_reopening(self, db_url: str, engine: Engine) -> None:
        """A written decision and its pending task are there after the store and engine close."""
        with SqlStore(engine) as s:
            apply(s, hold(decision(1), task(1)))
        engine.dispose()

        reopened = make_engine(db_url)
        try:
            with SqlStore(reopened) as s:
                got = s.read(lambda tx: (tx.decision("d-1"), tx.task("t-1")))
        finally:
            reopened.dispose()

        assert got == (decision(1), task(1))


class TestDecisionsOnTheFake(TestDecisions):
    """The in-memory fake the use-case tests run on holds to the same contract."""

    @pytest.fixture
    def store(self) -> FakeStore:  # type: ignore[override]
        """The fake, instead of a SQL store."""
        return FakeStore()


class TestGoldOnTheFake(TestGold):
    """The same gold contract on the in-memory fake."""

    @pytest.fixture
    def store(self) -> FakeStore:  # type: ignore[override]
        """The fake, instead of a SQL store."""
        return FakeStore()


class TestTasksOnTheFake(TestTasks):
    """The fake's task reads and guarded claims hold to the same contract."""

    @pytest.fixture
    def store(self) -> FakeStore:  # type: ignore[override]
        """The fake, instead of a SQL store."""
        return FakeStore()
