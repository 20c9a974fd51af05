"""ContestDecision end to end (GDPR Art. 22(3)): filed for the subject, heard by someone else, upheld or reversed.

The shipped claims policy offers contests (30 days, heard in the ``audit`` queue, filed by a
``caller``). Through the generated stubs, on SQLite and PostgreSQL: bob signs off a held claim,
the claims service contests it, bob (who decided it) finds nothing to claim, carol hears it and
reverses it; Get shows the history and the correction, explain tells it, and verify --state
agrees with the table. The refusals each have their status code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest

from gateway.cli import main
from gateway.errors import InvalidRequest, PreconditionFailed
from gateway.policy.model import Contest as ContestRule
from gateway.review.contest import deciders, plan_contest
from gateway.review.model import Principal, Status
from signoff.v1 import decision_pb2, review_pb2
from tests.conftest import TOKENS, Client, auth
from tests.gateway.backends import BACKENDS, copy_policies, served
from tests.gateway.helpers import claim, claim_request, decide, submit

CONTEST = "contest: {window: 30d, queue: audit, roles: [caller]}\n"


def _contest_policies(root: Path) -> Path:
    """The shipped policies (claims-triage offers contests since version 2)."""
    policies = copy_policies(root / "policies")
    assert CONTEST in (policies / "claims-triage.yaml").read_text()
    return policies


def _contest(
    client: Client, decision_id: str, statement: str = "I was in hospital; see the attached letter", who: str = "caller"
):  # type: ignore[no-untyped-def]
    return client.decisions.ContestDecision(
        decision_pb2.ContestDecisionRequest(decision_id=decision_id, statement=statement),
        metadata=auth(who),
        timeout=10,
    )


def _get(client: Client, decision_id: str) -> decision_pb2.Decision:
    return client.decisions.GetDecision(
        decision_pb2.GetDecisionRequest(decision_id=decision_id), metadata=auth("carol"), timeout=10
    ).decision


def _code(call) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """A gateway with the contest policy over SQLite or a fresh PostgreSQL schema."""
    root = tmp_path_factory.mktemp("contest")
    with served(request.param, root, _contest_policies(root)) as (url, client, app):
        held = decide(client, claim_request(confidence=0.85))
        task = claim(client, "junior", "bob").task
        signed = submit(client, task.task_id, "bob", "override", outcome="deny", reason="no police report").decision
        assert signed.decision_id == held.decision_id
        yield {"url": url, "client": client, "decision": signed, "port": app.port}  # type: ignore[attr-defined]


class TestRefusals:
    """Each refusal has its own status, and writes nothing."""

    def test_unknown_decision_is_not_found(self, world: dict) -> None:  # type: ignore[type-arg]
        assert _code(lambda: _contest(world["client"], "no-such-decision")) is grpc.StatusCode.NOT_FOUND

    def test_a_held_decision_cannot_be_contested(self, world: dict) -> None:  # type: ignore[type-arg]
        """Not final yet: FAILED_PRECONDITION."""
        held = decide(world["client"], claim_request(confidence=0.85))
        assert _code(lambda: _contest(world["client"], held.decision_id)) is grpc.StatusCode.FAILED_PRECONDITION

    def test_without_the_role_is_permission_denied(self, world: dict) -> None:  # type: ignore[type-arg]
        """carol may read the decision (an auditor) but holds no role the contest section names."""
        code = _code(lambda: _contest(world["client"], world["decision"].decision_id, who="carol"))
        assert code is grpc.StatusCode.PERMISSION_DENIED

    def test_an_empty_statement_is_invalid(self, world: dict) -> None:  # type: ignore[type-arg]
        with pytest.raises(grpc.RpcError) as err:
            _contest(world["client"], world["decision"].decision_id, statement="  ")
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "statement" in (err.value.details() or "")


class TestHearing:
    """In order: file, twice refused, the original reviewer excluded, heard and reversed."""

    def test_1_filed_contest_is_in_the_history(self, world: dict) -> None:  # type: ignore[type-arg]
        resp = _contest(world["client"], world["decision"].decision_id)
        assert resp.task_id
        (c,) = resp.decision.contests
        assert c.state == decision_pb2.CONTEST_STATE_OPEN and c.original_outcome == "deny"
        assert c.filed_by == "claims-service" and c.queue == "audit" and "hospital" in c.statement
        world["contest_task"] = resp.task_id

    def test_2_a_second_contest_while_one_is_open_is_refused(self, world: dict) -> None:  # type: ignore[type-arg]
        code = _code(lambda: _contest(world["client"], world["decision"].decision_id))
        assert code is grpc.StatusCode.FAILED_PRECONDITION

    def test_3_the_original_reviewer_finds_nothing_to_claim(self, world: dict) -> None:  # type: ignore[type-arg]
        """bob decided the original: the contest task is not his to claim (others in the queue are)."""
        resp = claim(world["client"], "audit", "bob")
        assert not resp.HasField("task") or resp.task.task_id != world["contest_task"]
        if resp.HasField("task"):  # an audit sample bob may hear: hand it back for the next test
            world["client"].review.Release(
                review_pb2.ReleaseRequest(task_id=resp.task.task_id), metadata=auth("bob"), timeout=10
            )

    def test_4_another_reviewer_reverses_it(self, world: dict) -> None:  # type: ignore[type-arg]
        """carol claims the contest and reverses it: the history and the correction say so."""
        client = world["client"]
        for _ in range(20):  # the queue may hold audit samples ahead of the contest
            resp = claim(client, "audit", "carol")
            assert resp.HasField("task")
            if resp.task.task_id == world["contest_task"]:
                break
            submit(client, resp.task.task_id, "carol", "approve")
        assert resp.task.kind == review_pb2.TASK_KIND_CONTEST
        assert resp.decision.contests[0].state == decision_pb2.CONTEST_STATE_OPEN
        with pytest.raises(grpc.RpcError) as err:  # a contest's decision must give its reasons
            submit(client, resp.task.task_id, "carol", "override", outcome="approve")
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        done = submit(client, resp.task.task_id, "carol", "override", outcome="approve", reason="letter confirms")
        (c,) = done.decision.contests
        assert c.state == decision_pb2.CONTEST_STATE_REVERSED and c.outcome == "approve" and c.decided_by == "carol"
        got = _get(client, world["decision"].decision_id)
        assert got.correction.outcome == "approve" and got.correction.reviewer == "carol"
        assert got.final_outcome == "deny" and got.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        assert got.contests[0].reason == "letter confirms"

    def test_5_explain_and_verify_tell_the_same_story(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """explain prints the contest and its reversal; verify --state finds the table and events agree."""
        code = main(["audit", "explain", world["decision"].decision_id, "--db", world["url"]])
        out = capsys.readouterr().out
        assert code == 0
        assert "Contested" in out and "reversed to approve" in out and "on contest" in out
        code = main(["audit", "verify", "--state", "--db", world["url"]])
        out, err = capsys.readouterr()
        assert code == 0, out + err

    def test_6_the_cli_files_a_contest_again_once_decided(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """`signoff contest` through the gateway: the second contest opens against the corrected outcome."""
        address = f"127.0.0.1:{world['port']}"
        argv = ["contest", world["decision"].decision_id, "--statement", "still wrong"]
        code = main([*argv, "--address", address, "--token", TOKENS["caller"]])
        out = capsys.readouterr().out
        assert code == 0 and "contest task" in out and "OPEN (approve)" in out and "REVERSED (deny)" in out


class TestPlanning:
    """The pure rules, at chosen times."""

    def _decision(self, decided_at: datetime):  # type: ignore[no-untyped-def]
        from gateway.review.model import Decision, Proposal

        return Decision(
            decision_id="d1",
            request_id="r1",
            request_digest="x",
            decision_type="claims.payout",
            subject_ref="s",
            input={},
            proposal=Proposal(outcome="approve", confidence=0.9),
            requested_by="claims-service",
            status=Status.AUTO_DECIDED,
            route="auto",
            queue="",
            rule="confident",
            reasons=(),
            policy_name="claims-triage",
            policy_version=1,
            policy_digest="d",
            created_at=decided_at,
            final_outcome="approve",
            decided_at=decided_at,
        )

    def test_the_window_closes(self, policy_with_contest) -> None:  # type: ignore[no-untyped-def]
        """A day inside a 30-day window is accepted; a minute after it, refused naming when it closed."""
        decided = datetime(2026, 11, 1, tzinfo=UTC)
        d = self._decision(decided)
        caller = Principal("claims-service", frozenset({"caller"}))
        ids = iter(["t1", "t2"])
        change, task, filed = plan_contest(
            caller, d, [], policy_with_contest, "x", decided + timedelta(days=1), lambda: next(ids)
        )
        assert task.queue == "audit" and filed.contests[0].excluded == ()
        late = decided + timedelta(days=30, minutes=1)
        with pytest.raises(PreconditionFailed, match="2026-12-01T00:00:00"):
            plan_contest(caller, d, [], policy_with_contest, "x", late, lambda: next(ids))

    def test_deciders_are_everyone_who_held_a_task(self) -> None:
        """The reviewer, the corrector and every holder of a non-contest task are excluded."""
        import dataclasses

        from gateway.review.model import Action, Correction, Task, TaskKind, TaskState

        now = datetime(2026, 11, 1, tzinfo=UTC)
        d = dataclasses.replace(
            self._decision(now),
            reviewer="bob",
            correction=Correction("deny", {}, Action.OVERRIDE, "carol", "r", now),
        )
        task = Task("t", "d1", "junior", TaskKind.REVIEW, TaskState.DONE, now, "claims-service", claimed_by="alice")
        assert deciders(d, [task]) == ("alice", "bob", "carol")

    def test_a_statement_must_say_something(self) -> None:
        from gateway.review.contest import check_statement

        with pytest.raises(InvalidRequest, match="statement"):
            check_statement(" ")
        with pytest.raises(InvalidRequest, match="4000"):
            check_statement("x" * 4001)


@pytest.fixture
def policy_with_contest(tmp_path: Path):  # type: ignore[no-untyped-def]
    from gateway.policy import load_policy

    policies = _contest_policies(tmp_path)
    policy = load_policy(policies / "claims-triage.yaml")
    assert policy.contest == ContestRule(30 * 86400, "audit", ("caller",))
    return policy
