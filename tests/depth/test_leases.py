"""RenewLease: the holder's heartbeat extends a live lease; nobody else's, and never a lapsed one."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc
import pytest
from google.protobuf import duration_pb2

from gateway.errors import InvalidRequest, NotFound, PreconditionFailed
from gateway.policy import load_policy
from gateway.review.commands import DecideCommand
from gateway.review.model import Principal, Proposal
from gateway.review.service import ReviewService
from signoff.v1 import audit_pb2, review_pb2
from tests.conftest import ROOT, auth
from tests.gateway.helpers import claim, claim_request, decide, submit
from tests.review.fakes import CountingIds, FakeClock, FakePolicies, FakeStore, NullNotifier

CALLER = Principal("svc", frozenset({"caller"}))
ALICE = Principal("alice", frozenset({"junior_adjuster"}))
ERIN = Principal("erin", frozenset({"junior_adjuster"}))
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


def held(service: ReviewService) -> str:
    """Decide a review-band claim and let alice claim it for one minute; the task id."""
    run(
        service.decide(
            CALLER,
            DecideCommand(
                request_id="r1",
                decision_type="claims.payout",
                subject_ref="s",
                input={"amount": 900, "claim_type": "home"},
                proposal=Proposal("approve", 0.8),
            ),
        )
    )
    task, _ = run(service.claim_next(ALICE, "junior", timedelta(minutes=1)))
    return task.task_id


class TestRenewLease:
    """The use case on the fakes, with a clock that moves only when told."""

    def test_renew_moves_the_lease_end_from_now(self, service, clock, store):
        """Renewing for ten minutes, 50 s into a one-minute lease, ends it ten minutes after now."""
        task_id = held(service)
        clock.advance(seconds=50)
        renewed = run(service.renew_lease(ALICE, task_id, timedelta(minutes=10)))
        assert renewed.lease_expires_at == clock.now() + timedelta(minutes=10)
        assert store.events[-1].type == "lease_renewed" and store.events[-1].actor == "alice"

    def test_renewed_lease_survives_the_old_end(self, service, clock):
        """After the original end passes, the renewed task is not released and stays alice's."""
        task_id = held(service)
        run(service.renew_lease(ALICE, task_id, timedelta(minutes=10)))
        clock.advance(minutes=2)
        assert run(service.expire_leases()) == 0
        assert run(service.claim_next(ERIN, "junior")) is None

    def test_lapsed_lease_cannot_be_renewed(self, service, clock):
        """Once the lease has ended, renewing is FAILED_PRECONDITION: claim it again."""
        task_id = held(service)
        clock.advance(minutes=2)
        with pytest.raises(PreconditionFailed, match="expired"):
            run(service.renew_lease(ALICE, task_id))

    def test_someone_elses_lease_cannot_be_renewed(self, service):
        """Renewing a lease you do not hold is FAILED_PRECONDITION, and writes nothing."""
        task_id = held(service)
        before = len(service.store.events)
        with pytest.raises(PreconditionFailed, match="not claimed by erin"):
            run(service.renew_lease(ERIN, task_id))
        assert len(service.store.events) == before

    @pytest.mark.parametrize("lease", [timedelta(seconds=-1), timedelta(hours=9)])
    def test_bad_lease_is_invalid(self, service, lease):
        """A negative lease or one over eight hours names the field."""
        task_id = held(service)
        with pytest.raises(InvalidRequest, match="^lease:"):
            run(service.renew_lease(ALICE, task_id, lease))

    def test_unknown_task_is_not_found(self, service):
        """A task id nobody issued is NOT_FOUND."""
        with pytest.raises(NotFound):
            run(service.renew_lease(ALICE, "nope"))


def renew(client, task_id: str, who: str, seconds: int = 600) -> review_pb2.Task:
    """RenewLease as ``who``."""
    req = review_pb2.RenewLeaseRequest(task_id=task_id, lease=duration_pb2.Duration(seconds=seconds))
    return client.review.RenewLease(req, metadata=auth(who), timeout=30).task


class TestRenewLeaseRpc:
    """RenewLease through the generated stub against a real gateway on SQLite."""

    def test_holder_renews(self, client):
        """The holder's renewal moves lease_expires_at later and is in the log."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice", lease=60).task
        renewed = renew(client, task.task_id, "alice")
        assert renewed.lease_expires_at.ToDatetime() > task.lease_expires_at.ToDatetime()
        events = client.audit.ListEvents(
            audit_pb2.ListEventsRequest(decision_id=task.decision_id), metadata=auth("carol"), timeout=30
        ).events
        assert "lease_renewed" in [e.type for e in events]

    def test_non_holder_gets_failed_precondition(self, client):
        """Another reviewer of the queue renewing is FAILED_PRECONDITION naming the task."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice", lease=60).task
        with pytest.raises(grpc.RpcError) as err:
            renew(client, task.task_id, "erin")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and task.task_id in err.value.details()

    def test_after_submit_gets_failed_precondition(self, client):
        """A submitted task has no lease to renew."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice", lease=60).task
        submit(client, task.task_id, "alice", "approve")
        with pytest.raises(grpc.RpcError) as err:
            renew(client, task.task_id, "alice")
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    def test_bad_lease_is_invalid_argument(self, client):
        """A negative duration is INVALID_ARGUMENT naming lease."""
        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice", lease=60).task
        with pytest.raises(grpc.RpcError) as err:
            renew(client, task.task_id, "alice", seconds=-5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details().startswith("lease")

    def test_unknown_task_is_not_found(self, client):
        """An unknown task id is NOT_FOUND."""
        with pytest.raises(grpc.RpcError) as err:
            renew(client, "no-such-task", "alice")
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


class TestRenewCli:
    """signoff review renew, as a reviewer runs it."""

    def test_renew_from_the_terminal(self, client, capsys):
        """The holder renews its lease from the CLI; a non-holder gets one stderr line and a non-zero exit."""
        from gateway.cli import main as cli

        decide(client, claim_request(confidence=0.8))
        task = claim(client, "junior", "alice", lease=60).task
        addr = ("--address", client.address)
        assert (
            cli(["review", "renew", task.task_id, "--lease", "900", "--json", "--token", "dev-alice-token", *addr]) == 0
        )
        assert task.task_id in capsys.readouterr().out
        code = cli(["review", "renew", task.task_id, "--token", "dev-erin-token", *addr])
        err = capsys.readouterr().err
        assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
