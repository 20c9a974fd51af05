"""Blind-first review end to end: no RPC shows a reviewer the proposal of a blind task before their own outcome.

A copy of the claims policy reviews every junior task blind-first (``blind_rate: 1``). Through the
generated stubs, on SQLite and PostgreSQL, every read a reviewer can make (ClaimNext, GetDecision,
WatchDecision, ListTasks, the audit RPCs) is checked for the proposal, the confidence, the scores,
the explanation and the rule that tells the confidence band, before and after RecordInitialOutcome.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text

from gateway.cli import main
from signoff.v1 import audit_pb2, decision_pb2, review_pb2
from tests.conftest import Client, auth
from tests.gateway.backends import BACKENDS, copy_policies, edit_claims_policy, served
from tests.gateway.helpers import claim, claim_request, decide


def _policies(root: Path) -> Path:
    return edit_claims_policy(copy_policies(root / "policies"), junior="    blind_rate: 1.0\n")


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """A gateway whose junior queue is reviewed blind-first, over SQLite or a fresh PostgreSQL schema."""
    root = tmp_path_factory.mktemp("blind")
    with served(request.param, root, _policies(root)) as (url, client, _):
        yield {"url": url, "client": client, "root": root}


def _withheld(d: decision_pb2.Decision) -> bool:
    """Nothing of the proposal, and not the rule or reasons that tell its confidence band."""
    p = d.proposal
    return (p.outcome, p.confidence, dict(p.scores), p.explanation, p.model, d.rule, list(d.reasons)) == (
        "",
        0.0,
        {},
        "",
        "",
        "",
        [],
    )


def _get(client: Client, decision_id: str, who: str) -> decision_pb2.Decision:
    req = decision_pb2.GetDecisionRequest(decision_id=decision_id)
    return client.decisions.GetDecision(req, metadata=auth(who), timeout=10).decision


def _submit(client: Client, task_id: str, who: str, action: str, outcome: str = "", reason: str = ""):  # type: ignore[no-untyped-def]
    req = review_pb2.SubmitRequest(
        task_id=task_id, action=getattr(decision_pb2, f"REVIEW_ACTION_{action.upper()}"), outcome=outcome, reason=reason
    )
    return client.review.Submit(req, metadata=auth(who), timeout=10)


def _initial(client: Client, task_id: str, who: str, outcome: str):  # type: ignore[no-untyped-def]
    req = review_pb2.RecordInitialOutcomeRequest(task_id=task_id, outcome=outcome)
    return client.review.RecordInitialOutcome(req, metadata=auth(who), timeout=10)


def _claim_of(client: Client, decision_id: str, who: str) -> review_pb2.ClaimNextResponse:
    for _ in range(10):
        resp = claim(client, "junior", who)
        assert resp.HasField("task")
        if resp.task.decision_id == decision_id:
            return resp
        client.review.Release(review_pb2.ReleaseRequest(task_id=resp.task.task_id), metadata=auth(who), timeout=10)
    raise AssertionError(f"{who} never got the task of {decision_id}")


class TestNothingLeaksBeforeTheInitialOutcome:
    """In order, on one blind task that alice holds."""

    def test_1_claim_next_withholds(self, world: dict) -> None:  # type: ignore[type-arg]
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85, outcome="approve"))
        resp = _claim_of(client, d.decision_id, "alice")
        assert resp.task.blind and not resp.task.initial_outcome
        assert _withheld(resp.decision)
        world["d"], world["task"] = d.decision_id, resp.task.task_id

    def test_2_get_and_watch_withhold_for_every_reviewer_of_the_queue(self, world: dict) -> None:  # type: ignore[type-arg]
        """The holder and another junior-queue reviewer both see it withheld; an auditor does not review it."""
        client = world["client"]
        assert _withheld(_get(client, world["d"], "alice"))
        assert _withheld(_get(client, world["d"], "bob"))
        first = next(
            iter(
                client.decisions.WatchDecision(
                    decision_pb2.WatchDecisionRequest(decision_id=world["d"]), metadata=auth("alice"), timeout=10
                )
            )
        )
        assert _withheld(first.decision)
        assert _get(client, world["d"], "carol").proposal.outcome == "approve"

    def test_3_list_tasks_and_the_audit_rpcs_carry_nothing(self, world: dict) -> None:  # type: ignore[type-arg]
        """ListTasks has no proposal fields at all; the audit RPCs refuse a reviewer's token."""
        client = world["client"]
        tasks = client.review.ListTasks(review_pb2.ListTasksRequest(queue="junior"), metadata=auth("bob"), timeout=10)
        assert all(not t.HasField("revealed_at") for t in tasks.tasks if t.task_id == world["task"])
        for call in (
            lambda: client.audit.QueryDecisions(audit_pb2.QueryDecisionsRequest(), metadata=auth("alice"), timeout=10),
            lambda: client.audit.ExplainDecision(
                audit_pb2.ExplainDecisionRequest(decision_id=world["d"]), metadata=auth("alice"), timeout=10
            ),
        ):
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert err.value.code() is grpc.StatusCode.PERMISSION_DENIED

    def test_4_approve_without_an_outcome_is_refused_without_telling(self, world: dict) -> None:  # type: ignore[type-arg]
        """There is no proposal to approve: the refusal names the field and not the proposal."""
        with pytest.raises(grpc.RpcError) as err:
            _submit(world["client"], world["task"], "alice", "approve")
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "outcome" in (err.value.details() or "") and "approve" not in (err.value.details() or "")

    def test_5_the_initial_outcome_reveals_to_the_holder_only(self, world: dict) -> None:  # type: ignore[type-arg]
        client = world["client"]
        resp = _initial(client, world["task"], "alice", "deny")
        assert resp.task.initial_outcome == "deny" and resp.task.HasField("revealed_at")
        assert resp.decision.proposal.outcome == "approve" and resp.decision.rule == "review_band"
        assert _get(client, world["d"], "alice").proposal.outcome == "approve"
        assert _withheld(_get(client, world["d"], "bob"))
        with pytest.raises(grpc.RpcError) as err:
            _initial(client, world["task"], "alice", "approve")
        assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION

    def test_6_changing_the_initial_outcome_needs_a_reason(self, world: dict) -> None:  # type: ignore[type-arg]
        client = world["client"]
        with pytest.raises(grpc.RpcError) as err:
            _submit(client, world["task"], "alice", "approve")
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT and "reason" in (err.value.details() or "")
        done = _submit(client, world["task"], "alice", "approve", reason="the police report settles it")
        assert done.decision.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        assert done.decision.final_outcome == "approve"

    def test_7_the_log_holds_initial_reveal_and_final(self, world: dict) -> None:  # type: ignore[type-arg]
        engine = create_engine(world["url"])
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT type, body_json FROM audit_events WHERE decision_id = :d ORDER BY seq"),
                    {"d": world["d"]},
                ).all()
        finally:
            engine.dispose()
        types = [t for t, _ in rows]
        assert "blind_review_drawn" in types and "blind_initial_recorded" in types
        drawn = json.loads(next(b for t, b in rows if t == "blind_review_drawn"))
        assert drawn["probability"] == 1.0 and 0 <= drawn["draw"] < 1
        signed = json.loads(next(b for t, b in rows if t == "review_submitted"))
        assert (signed["blind"], signed["initial_outcome"], signed["outcome"]) == (True, "deny", "approve")
        assert signed["revealed"] is True and signed["revealed_at"]


class TestWithoutTheReveal:
    def test_a_submit_without_the_reveal_records_the_outcome_as_both(self, world: dict) -> None:  # type: ignore[type-arg]
        """alice never looks: OVERRIDE to the very outcome the model proposed is recorded as an APPROVE."""
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85, outcome="approve"))
        resp = _claim_of(client, d.decision_id, "alice")
        done = _submit(client, resp.task.task_id, "alice", "override", outcome="approve", reason="fine")
        assert done.decision.final_outcome == "approve" and done.decision.action == decision_pb2.REVIEW_ACTION_APPROVE

    def test_an_edit_without_a_payload_is_not_refused_for_matching_the_hidden_proposal(self, world: dict) -> None:  # type: ignore[type-arg]
        """EDIT naming the very outcome proposed, and no payload, would be refused with the proposal
        in view ("EDIT needs a changed outcome"); blind, that refusal would tell it, so it is an APPROVE."""
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85, outcome="approve"))
        resp = _claim_of(client, d.decision_id, "alice")
        done = _submit(client, resp.task.task_id, "alice", "edit", outcome="approve", reason="fine")
        assert done.decision.final_outcome == "approve" and done.decision.action == decision_pb2.REVIEW_ACTION_APPROVE

    def test_a_released_task_is_blind_again_for_the_next_reviewer(self, world: dict) -> None:  # type: ignore[type-arg]
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85))
        resp = _claim_of(client, d.decision_id, "alice")
        _initial(client, resp.task.task_id, "alice", "deny")
        client.review.Release(review_pb2.ReleaseRequest(task_id=resp.task.task_id), metadata=auth("alice"), timeout=10)
        again = _claim_of(client, d.decision_id, "bob")
        assert _withheld(again.decision) and not again.task.initial_outcome
        client.review.Release(review_pb2.ReleaseRequest(task_id=again.task.task_id), metadata=auth("bob"), timeout=10)

    def test_the_feedback_export_marks_blind_labels(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        out = world["root"] / "feedback.jsonl"
        argv = ["export", "feedback", "--db", world["url"], "--since", "2000-01-01", "--until", "2100-01-01"]
        assert main([*argv, "--out", str(out)]) == 0
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert rows and all(r["blind_review"] is True for r in rows if r["reviewer_tier"] == "junior")
