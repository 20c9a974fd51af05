"""The console's blind-first case: no proposal in the page until the reviewer records an outcome.

The junior queue of a copy of the shipped policies reviews every task blind-first
(``blind_rate: 1``). Through the console's forms (no JavaScript): the case page holds none of the
proposal, the initial-outcome form reveals it to the holder, and changing the outcome afterwards
needs a reason, as through gRPC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.console.conftest import csrf_of
from tests.console.helpers import held, task_id_of
from tests.gateway.backends import edit_claims_policy


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies with the junior queue reviewed blind-first."""
    return edit_claims_policy(policy_dir, junior="    blind_rate: 1.0\n")


def _claim(c: Any) -> str:
    r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
    assert r.status_code == 303, r.text
    return task_id_of(r.headers["location"])


class TestRevealInTheConsole:
    def test_the_case_hides_the_proposal_until_the_initial_outcome(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """Before: no proposal, explanation or rule in the HTML. After the form: all shown, with the
        initial outcome; a changed outcome without a reason is refused on the page."""
        d = held(grpc_client, explanation="the model's secret reasoning")
        c = http_as("alice")
        task_id = _claim(c)
        case = c.get(f"/tasks/{task_id}").text
        assert 'id="initial-form"' in case
        for leak in ("the model&#39;s secret reasoning", 'id="proposal"', "review_band", "claims-gbm"):
            assert leak not in case
        r = c.post(f"/tasks/{task_id}/initial", data={"csrf": csrf_of(case), "initial_outcome": "deny"})
        assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task_id}"
        revealed = c.get(f"/tasks/{task_id}").text
        assert 'id="proposal"' in revealed and "the model&#39;s secret reasoning" in revealed
        assert 'id="initial"' in revealed and "<strong>deny</strong>" in revealed
        refused = c.post(
            f"/tasks/{task_id}/submit", data={"csrf": csrf_of(revealed), "action": "approve", "reason": ""}
        )
        assert refused.status_code == 400 and "needs a reason" in refused.text
        done = c.post(
            f"/tasks/{task_id}/submit",
            data={"csrf": csrf_of(refused.text), "action": "approve", "reason": "the report settles it"},
        )
        assert done.status_code == 303
        got = grpc_client.decisions.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=10
        ).decision
        assert got.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    def test_an_unknown_outcome_is_a_message_on_the_page(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        case = c.get(f"/tasks/{task_id}").text
        r = c.post(f"/tasks/{task_id}/initial", data={"csrf": csrf_of(case), "initial_outcome": "<b>maybe</b>"})
        assert r.status_code == 400 and "is not one of" in r.text and "<b>maybe</b>" not in r.text
