"""The SLA state the console's queue list shows: from the loaded policies' queue SLAs and the oldest task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.console.signin import queue_sla, sla_text
from gateway.policy.model import Sla, TimeoutAction
from tests.console.helpers import held

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SLA = Sla(3600, TimeoutAction("escalate", queue="senior"), 1800)


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies with an SLA on the junior queue: due in 1 h, warning at 30 min."""
    path = policy_dir / "claims-triage.yaml"
    anchor = "    description: Review band, 0.70 to 0.92 confidence.\n"
    sla = "    sla: {due: 1h, warn: 30m, on_timeout: {action: escalate, queue: senior}}\n"
    before = path.read_text()
    path.write_text(before.replace(anchor, anchor + sla))
    assert path.read_text() != before
    return policy_dir


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
