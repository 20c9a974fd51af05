"""One decision's trail: ``build_trail`` and ``render_trail`` (pure), and ``signoff audit explain``."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import make_url

from audit.chain import chain
from audit.record import NewEvent
from gateway.cli import main
from gateway.reports import build_trail, render_trail
from tests.reports.conftest import Dataset

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = {
    "policy_name": "claims-triage",
    "policy_version": 3,
    "policy_digest": "d" * 64,
    "decision_type": "claims.payout",
}


def _events() -> list:
    def ev(type_: str, actor: str, seconds: float, body: dict) -> NewEvent:
        return NewEvent(
            type=type_, time=T0 + timedelta(seconds=seconds), actor=actor, decision_id="d-1", body=body, **POLICY
        )

    return chain(
        [
            ev(
                "decision_received",
                "claims-service",
                0,
                {
                    "request_id": "r-1",
                    "subject_ref": "holder-9",
                    "requested_by": "claims-service",
                    "input": {"amount": 1200.0},
                    "proposal": {
                        "outcome": "approve",
                        "confidence": 0.81,
                        "scores": {"approve": 0.81},
                        "model": "claims-gbm",
                        "model_version": "7",
                    },
                },
            ),
            ev(
                "routed",
                "gateway",
                0,
                {
                    "route": "junior",
                    "rule": "review_band",
                    "reasons": ["confidence 0.81 <= 0.92"],
                    "failed_closed": False,
                    "significant": True,
                },
            ),
            ev(
                "review_claimed",
                "alice",
                60,
                {"task_id": "t-1", "queue": "junior", "kind": "review", "lease_expires_at": "x"},
            ),
            ev(
                "review_released",
                "gateway",
                400,
                {"task_id": "t-1", "queue": "junior", "reason": "lease_expired", "claimed_by": "alice"},
            ),
            ev(
                "review_claimed",
                "bob",
                500,
                {"task_id": "t-1", "queue": "junior", "kind": "review", "lease_expires_at": "y"},
            ),
            ev(
                "review_submitted",
                "bob",
                560,
                {
                    "task_id": "t-1",
                    "queue": "junior",
                    "kind": "review",
                    "reviewer": "bob",
                    "action": "OVERRIDE",
                    "outcome": "deny",
                    "proposal_outcome": "approve",
                    "was_override": True,
                    "payload": {},
                    "reason": "fraud ring",
                    "time_to_decision_seconds": 560.0,
                },
            ),
            ev(
                "decision_finalized",
                "bob",
                560,
                {
                    "status": "HUMAN_DECIDED",
                    "final_outcome": "deny",
                    "final_payload": {},
                    "action": "OVERRIDE",
                    "reviewer": "bob",
                    "reason": "fraud ring",
                    "by": "human",
                },
            ),
        ],
        41,
        "a" * 64,
    )


class TestBuildTrail:
    """The story is read from the events alone."""

    def test_input_proposal_and_policy(self) -> None:
        """Input, proposal and the policy version with its text come first."""
        t = build_trail(_events(), "metadata: {name: claims-triage}", True)
        assert (t["decision_id"], t["subject_ref"], t["input"], t["proposal"]["confidence"]) == (
            "d-1",
            "holder-9",
            {"amount": 1200.0},
            0.81,
        )
        assert t["policy"] == {
            "name": "claims-triage",
            "version": 3,
            "digest": "d" * 64,
            "text": "metadata: {name: claims-triage}",
        }

    def test_routing_claims_releases_and_review(self) -> None:
        """Rule and reasons, both claims, the lapsed lease, and the override with its reason."""
        t = build_trail(_events(), None, True)
        assert (t["routing"]["rule"], t["routing"]["reasons"]) == ("review_band", ["confidence 0.81 <= 0.92"])
        assert [c["by"] for c in t["claims"]] == ["alice", "bob"] and t["releases"][0]["reason"] == "lease_expired"
        [r] = t["reviews"]
        assert (r["by"], r["action"], r["outcome"], r["reason"]) == ("bob", "OVERRIDE", "deny", "fraud ring")
        assert (t["outcome"], t["state"]) == ("deny", "final")

    def test_chain_positions(self) -> None:
        """The seq range and the hashes at both ends, with the verification verdict passed in."""
        evs = _events()
        c = build_trail(evs, None, False)["chain"]
        assert (c["first_seq"], c["last_seq"], c["count"], c["verified"]) == (42, 48, 7, False)
        assert (c["first_prev_hash"], c["last_hash"]) == ("a" * 64, evs[-1].hash)

    def test_events_in_any_order(self) -> None:
        """Events handed over out of order are told in seq order."""
        assert build_trail(list(reversed(_events())), None, None)["events"][0]["type"] == "decision_received"

    def test_is_json_able(self) -> None:
        """The trail survives a JSON round trip unchanged."""
        t = build_trail(_events(), "text", True)
        assert json.loads(json.dumps(t)) == t


class TestRenderTrail:
    """Plain words a data subject or an auditor can read."""

    def test_tells_the_story_in_order(self) -> None:
        """Receipt, routing, claims and release in time order, sign-off, final outcome, chain, policy text."""
        text = render_trail(build_trail(_events(), "rules: []\n", True))
        order = [
            "Received",
            "Routed",
            "Claimed 2026-03-02T09:01:00",
            "Released",
            "Claimed 2026-03-02T09:08:20",
            "Signed off",
            "Final",
            "Audit chain",
            "Policy text",
        ]
        positions = [text.index(word) for word in order]
        assert positions == sorted(positions)
        assert "Reason given: fraud ring" in text and "hashes and links verify" in text and "  | rules: []" in text

    def test_says_when_not_verified(self) -> None:
        """A failed check is spelled out, and a missing policy text is named."""
        text = render_trail(build_trail(_events(), None, False))
        assert "DO NOT VERIFY" in text and "not stored" in text

    def test_no_events_says_exactly_that(self) -> None:
        """A decision with no events left says the log holds none, and prints no (empty) policy."""
        trail = build_trail([], "rules: []\n", True)
        trail["decision_id"] = "d-gone"
        text = render_trail(trail)
        assert "the audit log holds no events for this decision" in text and "d-gone" in text
        assert "Policy text" not in text and "Input" not in text


def _copy_db(dataset: Dataset, tmp_path: Path) -> tuple[str, Path]:
    src = sqlite3.connect(make_url(dataset.db_url).database)
    path = tmp_path / "copy.db"
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{path}", path


class TestExplainCommand:
    """``signoff audit explain`` over the scripted day."""

    def test_explains_a_held_decision(self, dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
        """The senior reviewer's rejection, its reason, and a verified chain."""
        rc = main(["audit", "explain", "senior-0", "--db", dataset.db_url])
        out = capsys.readouterr().out
        assert (
            rc == 0 and "REJECT" in out and "duplicate of an earlier claim" in out and "hashes and links verify" in out
        )

    def test_json_of_a_corrected_audit_sample(self, dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
        """An audited automatic decision shows the draw, the correction and the corrected outcome."""
        rc = main(["audit", "explain", dataset.ids["sampled"][0], "--db", dataset.db_url, "--json"])
        t = json.loads(capsys.readouterr().out)
        assert rc == 0 and t["audit_sample"]["probability"] == 0.5 and t["outcome"] == "deny"
        assert t["corrections"][0]["original_outcome"] == "approve" and t["chain"]["verified"] is True
        assert "claims-triage" in t["policy"]["text"]

    def test_unknown_id_exits_1(self, dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
        """No such decision: one line, exit 1."""
        rc = main(["audit", "explain", "no-such-id", "--db", dataset.db_url])
        err = capsys.readouterr().err
        assert rc == 1 and "no decision 'no-such-id'" in err and err.count("\n") == 1

    def test_tampered_event_fails_verification(
        self, dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An event edited behind the triggers' back no longer verifies; the command exits 1."""
        url, path = _copy_db(dataset, tmp_path)
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER audit_events_no_update")
        conn.execute(
            "UPDATE audit_events SET body_json = replace(body_json, 'duplicate', 'genuine') "
            "WHERE decision_id = 'senior-0' AND type = 'review_submitted'"
        )
        conn.commit()
        conn.close()
        rc = main(["audit", "explain", "senior-0", "--db", url])
        assert rc == 1 and "DO NOT VERIFY" in capsys.readouterr().out

    def test_removed_predecessor_breaks_the_link(
        self, dataset: Dataset, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Deleting the event just before one of the decision's events breaks that event's link."""
        url, path = _copy_db(dataset, tmp_path)
        conn = sqlite3.connect(path)
        seq = conn.execute("SELECT min(seq) FROM audit_events WHERE decision_id = 'senior-1'").fetchone()[0]
        conn.execute("DROP TRIGGER audit_events_no_delete")
        conn.execute("DELETE FROM audit_events WHERE seq = ?", (seq - 1,))
        conn.commit()
        conn.close()
        assert main(["audit", "explain", "senior-1", "--db", url, "--json"]) == 1
        assert json.loads(capsys.readouterr().out)["chain"]["verified"] is False
