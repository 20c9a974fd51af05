"""The console's queue list SLA state (from the loaded policies' queue SLAs and the oldest task), and a contest case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.console.signin import queue_sla, sla_text
from gateway.policy.model import Sla, TimeoutAction
from tests.console.helpers import held
from tests.gateway.backends import edit_claims_policy

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SLA = Sla(3600, TimeoutAction("escalate", queue="senior"), 1800)


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies (contests since version 2) with the junior SLA due in 1 h, warning at 30 min."""
    sla = "    sla: {due: 1h, warn: 30m, on_timeout: {action: escalate, queue: senior}}\n"
    return edit_claims_policy(policy_dir, junior_sla=sla)


class TestSlaText:
    @pytest.mark.parametrize(
        ("age", "state"),
        [
            (timedelta(minutes=10), "ok (due within 1 h)"),
            (timedelta(minutes=40), "warning"),
            (timedelta(hours=2), "breached"),
        ],
    )
    def test_the_oldest_task_decides_the_state(self, age: timedelta, state: str) -> None:
        assert sla_text(SLA, T0, T0 + age).startswith(state)

    def test_no_sla_and_an_empty_queue(self) -> None:
        assert sla_text(None, T0, T0) == "no SLA set"
        assert sla_text(SLA, None, T0) == "ok (due within 1 h)"


class TestQueueList:
    def test_the_start_page_shows_the_queues_sla(self, http_as, grpc_client, console_app) -> None:  # type: ignore[no-untyped-def]
        """alice's junior queue shows its SLA; the audit queue, which has none, says so."""
        held(grpc_client)
        page = http_as("alice").get("/").text
        assert "ok (due within 1 h)" in page
        policies = console_app.console.console.service.policies.all()
        assert queue_sla(policies, "junior") == SLA and queue_sla(policies, "audit") is None


class TestContestCase:
    def test_a_contest_task_shows_the_statement_and_history(self, http_as, grpc_client, policy_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """bob decides, the caller contests through gRPC; carol's case view of the contest task shows it, escaped."""
        from signoff.v1 import decision_pb2
        from tests.conftest import auth
        from tests.console.conftest import csrf_of
        from tests.console.helpers import task_id_of
        from tests.gateway.helpers import claim, submit

        d = held(grpc_client)
        t = claim(grpc_client, "junior", "bob").task
        submit(grpc_client, t.task_id, "bob", "override", outcome="deny", reason="no report")
        grpc_client.decisions.ContestDecision(
            decision_pb2.ContestDecisionRequest(decision_id=d.decision_id, statement="<script>x</script> I was away"),
            metadata=auth("caller"),
            timeout=10,
        )
        c = http_as("carol")
        page = c.get("/queues/audit").text
        r = c.post("/queues/audit/claim", data={"csrf": csrf_of(page)})
        case = c.get(f"/tasks/{task_id_of(r.headers['location'])}").text
        assert 'id="contests"' in case and "I was away" in case and "<script>x</script>" not in case
        assert "You are hearing this contest" in case
