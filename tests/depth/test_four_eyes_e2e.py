"""Four-eyes review end to end: two distinct reviewers must agree before a held decision is final.

A copy of the claims policy asks the junior queue for two reviewers, unanimous, escalating to
senior on disagreement. Through the generated stubs on SQLite and PostgreSQL: agreement finalizes
with both votes in the log; disagreement closes the task and opens one in senior; an edit
invalidates an approval given to the earlier payload; a reviewer who voted cannot claim again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from gateway.cli import main
from signoff.v1 import decision_pb2, review_pb2
from tests.conftest import Client, auth
from tests.gateway.backends import BACKENDS, copy_policies, edit_claims_policy, served
from tests.gateway.helpers import claim, claim_request, decide

FOUR_EYES = "    reviewers: 2\n    agreement: unanimous\n    on_disagreement: {action: escalate, queue: senior}\n"


def _policies(root: Path) -> Path:
    return edit_claims_policy(copy_policies(root / "policies"), junior=FOUR_EYES)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """A gateway whose junior queue needs two reviewers, over SQLite or a fresh PostgreSQL schema."""
    root = tmp_path_factory.mktemp("foureyes")
    with served(request.param, root, _policies(root)) as (url, client, _):
        yield {"url": url, "client": client}


def _sign(client: Client, who: str, decision_id: str, action: str, outcome: str = "", reason: str = "", payload=None):  # type: ignore[no-untyped-def]
    """Claim from junior until ``who`` holds the task of ``decision_id``, then submit."""
    for _ in range(10):
        resp = claim(client, "junior", who)
        assert resp.HasField("task"), f"{who} found nothing to claim"
        if resp.task.decision_id == decision_id:
            break
        client.review.Release(review_pb2.ReleaseRequest(task_id=resp.task.task_id), metadata=auth(who), timeout=10)
    req = review_pb2.SubmitRequest(
        task_id=resp.task.task_id,
        action=getattr(decision_pb2, f"REVIEW_ACTION_{action.upper()}"),
        outcome=outcome,
        reason=reason,
    )
    if payload:
        req.payload.update(payload)
    return client.review.Submit(req, metadata=auth(who), timeout=10)


def _get(client: Client, decision_id: str) -> decision_pb2.Decision:
    req = decision_pb2.GetDecisionRequest(decision_id=decision_id)
    return client.decisions.GetDecision(req, metadata=auth("carol"), timeout=10).decision


def _events(url: str, decision_id: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT type, body_json FROM audit_events WHERE decision_id = :d ORDER BY seq"), {"d": decision_id}
            ).all()
    finally:
        engine.dispose()
    return [(t, json.loads(b)) for t, b in rows]


class TestFourEyes:
    def test_one_approval_is_not_final_and_its_reviewer_cannot_vote_twice(self, world: dict) -> None:  # type: ignore[type-arg]
        """After alice's vote the decision is still held and the task is back in the queue, but not for her."""
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85))
        first = _sign(client, "alice", d.decision_id, "approve")
        assert first.decision.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW
        assert first.task.state == review_pb2.TASK_STATE_OPEN
        again = claim(client, "junior", "alice")
        assert not again.HasField("task") or again.task.decision_id != d.decision_id
        if again.HasField("task"):
            client.review.Release(
                review_pb2.ReleaseRequest(task_id=again.task.task_id), metadata=auth("alice"), timeout=10
            )
        world["pending"] = d.decision_id

    def test_a_second_agreeing_reviewer_makes_it_final(self, world: dict) -> None:  # type: ignore[type-arg]
        """bob agrees: HUMAN_DECIDED, and quorum_reached names both votes."""
        client = world["client"]
        done = _sign(client, "bob", world["pending"], "approve")
        assert done.decision.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        assert done.decision.final_outcome == "approve" and done.decision.reviewer == "bob"
        events = _events(world["url"], world["pending"])
        reached = [b for t, b in events if t == "quorum_reached"]
        assert len(reached) == 1 and [v["reviewer"] for v in reached[0]["votes"]] == ["alice", "bob"]
        votes = [b for t, b in events if t == "review_submitted"]
        assert [(b["tally"], b["votes_needed"]) for b in votes] == [("pending", 1), ("agreed", 0)]
        assert len({b["quorum_group"] for b in votes}) == 1  # paired for the reviewers' kappa

    def test_disagreement_escalates_to_senior(self, world: dict) -> None:  # type: ignore[type-arg]
        """alice approves, erin denies: the task closes, a senior task opens, the decision stays held."""
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85))
        _sign(client, "alice", d.decision_id, "approve")
        second = _sign(client, "erin", d.decision_id, "override", outcome="deny", reason="looks staged")
        assert second.task.state == review_pb2.TASK_STATE_DONE
        got = _get(client, d.decision_id)
        assert got.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW and got.queue == "senior"
        (esc,) = [b for t, b in _events(world["url"], d.decision_id) if t == "quorum_disagreed"]
        assert esc["escalated_to"] == "senior" and esc["counts"] == {"approve": 1, "deny": 1}
        senior = claim(client, "senior", "bob")
        assert senior.task.decision_id == d.decision_id  # senior needs one reviewer
        req = review_pb2.SubmitRequest(
            task_id=senior.task.task_id, action=decision_pb2.REVIEW_ACTION_OVERRIDE, outcome="deny", reason="staged"
        )
        final = client.review.Submit(req, metadata=auth("bob"), timeout=10)
        assert final.decision.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    def test_an_edit_invalidates_an_approval_of_the_earlier_payload(self, world: dict) -> None:  # type: ignore[type-arg]
        """alice signs approve with a payload; bob signs approve without: alice's vote no longer counts,
        so the decision waits, and alice may sign again."""
        client = world["client"]
        d = decide(client, claim_request(confidence=0.85))
        _sign(client, "alice", d.decision_id, "edit", outcome="approve", reason="cap", payload={"amount": 900})
        bob = _sign(client, "bob", d.decision_id, "approve")
        assert bob.decision.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW
        final = _sign(client, "alice", d.decision_id, "approve")
        assert final.decision.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    def test_the_state_check_agrees(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """verify --state: the table says what the events say after votes, agreement and escalation."""
        code = main(["audit", "verify", "--state", "--db", world["url"]])
        out, err = capsys.readouterr()
        assert code == 0, out + err
