"""A four-eyes case in the console: the page says how many reviewers it needs and how many have
signed, never what they decided; a vote is acknowledged as a vote, and the second reviewer's
sign-off makes the decision final.

The junior queue of a copy of the shipped policies needs two reviewers, unanimous (a
disagreement escalates to senior). alice votes first through the console's forms, bob second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.console.conftest import csrf_of
from tests.console.helpers import held, task_id_of
from tests.gateway.backends import edit_claims_policy

FOUR_EYES = "    reviewers: 2\n    agreement: unanimous\n    on_disagreement: {action: escalate, queue: senior}\n"


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies with two reviewers required on the junior queue."""
    return edit_claims_policy(policy_dir, junior=FOUR_EYES)


def _claim(c: Any) -> str:
    r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
    assert r.status_code == 303, r.text
    return task_id_of(r.headers["location"])


def _approve(c: Any, task_id: str) -> str:
    """Approve ``task_id``; the note the queue page is sent with."""
    page = c.get(f"/tasks/{task_id}").text
    r = c.post(f"/tasks/{task_id}/submit", data={"csrf": csrf_of(page), "action": "approve"})
    assert r.status_code == 303, r.text
    return unquote(r.headers["location"].split("done=", 1)[1])


class TestFourEyesInTheConsole:
    def test_two_reviewers_sign_and_neither_sees_the_others_outcome(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """alice: '0 of them signed', her approve is a vote; bob: '1 of them signed' and no outcome
        of alice's on the page; his approve makes the decision final."""
        d = held(grpc_client)
        alice, bob = http_as("alice"), http_as("bob")
        task_id = _claim(alice)
        page = alice.get(f"/tasks/{task_id}").text
        assert "needs 2 distinct reviewers (unanimous); 0 of them signed so far" in page
        note = _approve(alice, task_id)
        assert note.startswith("Your vote (approve) is recorded; the decision is ")
        assert _claim(bob) == task_id
        page = bob.get(f"/tasks/{task_id}").text
        assert "needs 2 distinct reviewers (unanimous); 1 of them signed so far" in page
        assert "Your vote" not in page and "approve by alice" not in page
        assert _approve(bob, task_id).startswith("Signed off: approve → approve")
        got = grpc_client.decisions.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=10
        ).decision
        assert got.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED and got.final_outcome == "approve"
