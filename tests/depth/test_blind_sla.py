"""Blind-first draws and withholding; SLA deadlines, states and fail-closed timeout actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from gateway.policy import load_policy
from gateway.policy.model import Sla, TimeoutAction
from gateway.review.blind import WITHHELD, blind_draw, drawn_blind, visible, withhold
from gateway.review.model import Decision, Principal, Proposal, Status
from gateway.review.rules import sample_draw
from gateway.review.sla import Deadline, deadline, sla_state, timeout_action
from tests.policy.conftest import BASE

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DECISION = Decision(
    decision_id="d1",
    request_id="r1",
    request_digest="x",
    decision_type="loans.approval",
    subject_ref="s",
    input={"amount": 5},
    proposal=Proposal("deny", 0.61, {"deny": 0.61}, "m", "1", "income too low"),
    requested_by="svc",
    status=Status.IN_REVIEW,
    route="junior",
    queue="junior",
    rule="low_confidence",
    reasons=("The model is unsure",),
    policy_name="loans",
    policy_version=1,
    policy_digest="d",
    created_at=T0,
)
ANN = Principal("ann", frozenset({"clerk"}))
AUDITOR = Principal("aud", frozenset({"auditor"}))


class TestBlindDraw:
    """The draw that makes a task blind."""

    def test_draw_is_fixed_by_the_decision_id(self):
        """The same id gives the same draw; the draw lies in [0, 1)."""
        assert blind_draw("d1") == blind_draw("d1") and 0 <= blind_draw("d1") < 1

    def test_draw_is_independent_of_the_audit_draw(self):
        """Blind and audit draws use different salts: being audited says nothing about being blind."""
        assert blind_draw("d1") != sample_draw("d1")

    def test_share_drawn_matches_the_rate(self):
        """Over 20,000 ids the share drawn blind at rate 0.1 lies within 0.09..0.11."""
        share = sum(drawn_blind(f"id-{i}", 0.1) for i in range(20_000)) / 20_000
        assert 0.09 < share < 0.11

    def test_the_share_check_can_fail(self):
        """The same check at rate 0.2 falls outside the band: it tells rates apart."""
        share = sum(drawn_blind(f"id-{i}", 0.2) for i in range(20_000)) / 20_000
        assert not 0.09 < share < 0.11

    @pytest.mark.parametrize(("rate", "expected"), [(0.0, False), (1.0, True)])
    def test_rate_ends(self, rate, expected):
        """Rate 0 never draws, rate 1 always does."""
        assert all(drawn_blind(f"id-{i}", rate) is expected for i in range(100))


class TestWithhold:
    """What a reviewer sees of an unrevealed blind task."""

    def test_withhold_removes_proposal_rule_and_reasons(self):
        """Outcome, confidence, scores, model, explanation, rule and reasons are all gone."""
        seen = withhold(DECISION)
        assert (seen.proposal, seen.rule, seen.reasons) == (WITHHELD, "", ())
        assert "0.61" not in repr(seen) and "deny" not in repr(seen) and "unsure" not in repr(seen)

    def test_reviewer_of_the_queue_gets_it_withheld(self):
        """Anyone holding a role of the queue is treated as the task's reviewer."""
        assert visible(DECISION, ANN, blind=True, revealed=False, queue_roles=["clerk"]).proposal == WITHHELD

    def test_after_the_reveal_everything_is_shown(self):
        """Once the initial outcome is recorded the proposal is shown."""
        assert visible(DECISION, ANN, blind=True, revealed=True, queue_roles=["clerk"]) == DECISION

    def test_non_reviewer_sees_it(self):
        """A principal with no role of the queue (an auditor) is not anchored by seeing it."""
        assert visible(DECISION, AUDITOR, blind=True, revealed=False, queue_roles=["clerk"]) == DECISION

    def test_ordinary_task_is_shown(self):
        """A task that was not drawn blind is shown to its reviewer."""
        assert visible(DECISION, ANN, blind=False, revealed=False, queue_roles=["clerk"]) == DECISION


class TestDeadline:
    """Stored due times and the SLA state an injected clock reads."""

    SLA = Sla(3600, TimeoutAction("expire"), 2700)

    def test_times_from_creation(self):
        """Warning and due times are creation plus the SLA's seconds."""
        assert deadline(T0, self.SLA) == Deadline(T0 + timedelta(minutes=45), T0 + timedelta(hours=1))

    def test_no_sla_no_times(self):
        """A queue without an SLA stores no times, and its tasks are always ok."""
        assert deadline(T0, None) == Deadline(None, None)
        assert sla_state(T0 + timedelta(days=400), Deadline(None, None)) == "ok"

    @pytest.mark.parametrize(
        ("minutes", "state"),
        [(0, "ok"), (44, "ok"), (45, "warning"), (59, "warning"), (60, "breached"), (600, "breached")],
    )
    def test_state_as_the_clock_moves(self, minutes, state):
        """The state is ok before the warning, warning until due, breached from the due time on."""
        assert sla_state(T0 + timedelta(minutes=minutes), deadline(T0, self.SLA)) == state


class TestTimeoutAction:
    """The action a timeout takes, fail closed when the policy changed under a stored due time."""

    def policy(self, tmp_path: Path, **queues):
        """BASE with extra queue keys, loaded."""
        doc = {
            **BASE,
            "queues": {
                name: {**BASE["queues"][name], **extra}
                for name, extra in {"junior": {}, "senior": {}, **queues}.items()
            },
        }
        path = tmp_path / "p.yaml"
        path.write_text(yaml.safe_dump(doc))
        return load_policy(path)

    def test_the_queue_action(self, tmp_path):
        """A queue's SLA action is what its timeout does."""
        policy = self.policy(
            tmp_path, junior={"sla": {"due": "1h", "on_timeout": {"action": "escalate", "queue": "senior"}}}
        )
        assert timeout_action(policy, "junior") == TimeoutAction("escalate", queue="senior")

    def test_queue_without_sla_expires(self, tmp_path):
        """A stored due time whose queue lost its SLA expires the decision; it never decides."""
        assert timeout_action(self.policy(tmp_path), "junior") == TimeoutAction("expire")

    def test_removed_queue_expires(self, tmp_path):
        """A task in a queue the reloaded policy no longer has expires."""
        assert timeout_action(self.policy(tmp_path), "gone") == TimeoutAction("expire")

    def test_decide_is_kept_when_lint_allowed_it(self, tmp_path):
        """On a decision that is not significant a stated outcome is applied."""
        policy = self.policy(
            tmp_path, junior={"sla": {"due": "1h", "on_timeout": {"action": "decide", "outcome": "deny"}}}
        )
        assert timeout_action(policy, "junior") == TimeoutAction("decide", outcome="deny")
