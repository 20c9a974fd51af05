"""ReopenDecision through a real gateway: an automatic decision opened for review, corrected like an audit sample."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from signoff.v1 import decision_pb2, review_pb2
from tests.conftest import ROOT, Client, auth, start_app
from tests.gateway.backends import copy_policies
from tests.gateway.helpers import claim, claim_request, decide, submit


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    """A gateway whose claims policy lets auditors reopen automatic decisions into the senior queue (no sampling)."""
    policies = copy_policies(tmp_path / "policies")
    claims = policies / "claims-triage.yaml"
    # Audit sampling off: the shipped 2% draws on the decision id, and a sampled automatic decision
    # already has its audit review open, which would make ReopenDecision refuse at random.
    text = claims.read_text()
    assert "audit_auto_rate: 0.02" in text
    text = text.replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.0")
    claims.write_text(text + "reopen: {roles: [auditor], queue: senior}\n")
    app = start_app(f"sqlite:///{tmp_path / 'signoff.db'}", policies)
    address = f"127.0.0.1:{app.port}"  # type: ignore[attr-defined]
    channel = grpc.insecure_channel(address)
    try:
        yield Client(channel, address)
    finally:
        channel.close()
        app.stop()  # type: ignore[attr-defined]


def _reopen(client: Client, decision_id: str, who: str = "carol", reason: str = "complaint received"):
    """ReopenDecision as ``who``."""
    req = review_pb2.ReopenDecisionRequest(decision_id=decision_id, reason=reason)
    return client.review.ReopenDecision(req, metadata=auth(who), timeout=30)


def _code(fn) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    """The status code ``fn`` fails with."""
    with pytest.raises(grpc.RpcError) as err:
        fn()
    return err.value.code()


class TestReopen:
    """An auditor reopens an automatic decision; a senior adjuster's sign-off is its correction."""

    def test_reopened_decision_is_reviewed_and_corrected(self, client: Client) -> None:
        """The task lands in the senior queue; an override there is recorded as the decision's correction."""
        d = decide(client, claim_request(confidence=0.97, amount=800))
        assert d.route == "auto"
        task = _reopen(client, d.decision_id).task
        assert (task.queue, task.decision_id) == ("senior", d.decision_id)
        got = claim(client, "senior", "bob")
        assert got.task.task_id == task.task_id
        submit(client, task.task_id, "bob", "override", outcome="deny", reason="the file shows a prior fraud flag")
        req = decision_pb2.GetDecisionRequest(decision_id=d.decision_id)
        after = client.decisions.GetDecision(req, metadata=auth("caller"), timeout=30).decision
        assert after.final_outcome == d.final_outcome  # the automatic outcome stands in the record
        assert (after.correction.outcome, after.correction.reviewer) == ("deny", "bob")

    def test_refusals_name_what_is_wrong(self, client: Client) -> None:
        """Unknown: NOT_FOUND; without the role: PERMISSION_DENIED; held or already open: FAILED_PRECONDITION."""
        auto = decide(client, claim_request(confidence=0.97, amount=800))
        held = decide(client, claim_request(confidence=0.8, amount=800))
        assert _code(lambda: _reopen(client, "no-such-decision")) is grpc.StatusCode.NOT_FOUND
        assert _code(lambda: _reopen(client, auto.decision_id, who="alice")) is grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: _reopen(client, held.decision_id)) is grpc.StatusCode.FAILED_PRECONDITION
        assert _code(lambda: _reopen(client, auto.decision_id, reason=" ")) is grpc.StatusCode.INVALID_ARGUMENT
        _reopen(client, auto.decision_id)
        assert _code(lambda: _reopen(client, auto.decision_id)) is grpc.StatusCode.FAILED_PRECONDITION

    def test_the_log_records_who_reopened_and_why(self, client: Client) -> None:
        """The decision_reopened event names the auditor, the queue and the reason."""
        from signoff.v1 import audit_pb2

        d = decide(client, claim_request(confidence=0.97, amount=800))
        _reopen(client, d.decision_id, reason="customer disputes the payout")
        events = client.audit.ListEvents(
            audit_pb2.ListEventsRequest(decision_id=d.decision_id), metadata=auth("carol"), timeout=30
        ).events
        reopened = [e for e in events if e.type == "decision_reopened"]
        assert len(reopened) == 1 and reopened[0].actor == "carol"
        assert "customer disputes the payout" in reopened[0].body_json and '"queue":"senior"' in reopened[0].body_json


class TestReopenCommand:
    """``signoff review reopen`` on the command line."""

    def test_cli_reopens_and_refuses_in_one_line(self, client: Client) -> None:
        """The verb prints the task; reopening again is one line and a non-zero exit."""
        d = decide(client, claim_request(confidence=0.97, amount=800))

        def run(*extra: str) -> subprocess.CompletedProcess[str]:
            argv = [sys.executable, "-m", "gateway.cli", "review", "reopen", d.decision_id, "--reason", "check"]
            argv += ["--address", client.address, "--token", "dev-carol-token", *extra]
            return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=60)

        first = run("--json")
        assert first.returncode == 0 and '"queue": "senior"' in first.stdout, first.stderr
        again = run()
        assert again.returncode != 0 and again.stderr.strip().count("\n") == 0 and "already" in again.stderr
