"""A gold case in the console: the reviewer's case page cannot tell it from a real one.

The junior queue of a copy of the shipped policies takes a gold case beside every held claim
(``gold_rate: 1``; audit sampling off). With the example gold file loaded, alice claims both tasks
through the console's forms and reads both case pages: no word of gold, the same sections, and
the same kinds of earlier events; her sign-off on the gold case then scores her, not the model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from signoff.v1 import audit_pb2
from tests.conftest import ROOT, auth
from tests.console.conftest import csrf_of, off_loop
from tests.console.helpers import held, task_id_of
from tests.gateway.backends import edit_claims_policy

EXAMPLE = ROOT / "docs" / "examples" / "claims-gold.yaml"


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies with one gold case per held junior claim, and no audit draw."""
    policies = edit_claims_policy(policy_dir, junior="    gold_rate: 1.0\n")
    claims = policies / "claims-triage.yaml"
    claims.write_text(claims.read_text().replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.0"))
    return policies


def _claim(c: Any) -> str:
    r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
    assert r.status_code == 303, r.text
    return task_id_of(r.headers["location"])


def _shape(page: str) -> tuple[list[str], list[str]]:
    """The section headings of a case page, and the kinds of earlier events it lists."""
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    events = re.findall(r"</span> (\w+) by ", page)
    return headings, events


class TestGoldInTheConsole:
    def test_the_case_page_of_a_gold_case_looks_like_a_real_one(
        self, http_as, grpc_client, policy_dir: Path, db_url: str
    ) -> None:  # type: ignore[no-untyped-def]
        """Two claimed tasks, one gold: neither page says gold, and both have the same shape."""
        # off the test's thread: after the browser tests, Playwright keeps an event loop running there
        assert off_loop(main, ["gold", "add", str(EXAMPLE), "--policies", str(policy_dir), "--db", db_url]) == 0
        real = held(grpc_client)
        c = http_as("alice")
        pages = {}
        for _ in range(2):
            task_id = _claim(c)
            pages[task_id] = c.get(f"/tasks/{task_id}").text
        (real_page,) = [p for p in pages.values() if real.decision_id in p]
        (gold_page,) = [p for p in pages.values() if real.decision_id not in p]
        assert "gold" not in gold_page.lower() and "gold" not in real_page.lower()
        assert _shape(gold_page) == _shape(real_page)
        assert _shape(gold_page)[1][0] == "routed"  # the list starts at the routing, for both

        for task_id in pages:  # alice lets both proposals stand
            page = c.get(f"/tasks/{task_id}").text
            r = c.post(f"/tasks/{task_id}/submit", data={"csrf": csrf_of(page), "action": "approve"})
            assert r.status_code in (200, 303), r.text
        rows = grpc_client.audit.ReviewerStats(
            audit_pb2.ReviewerStatsRequest(), metadata=auth("carol"), timeout=10
        ).rows
        (alice,) = [r for r in rows if r.reviewer == "alice"]
        assert (alice.reviews, alice.gold_reviews) == (1, 1)
