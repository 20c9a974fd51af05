"""The labelled history and the monitor's alarm events on a real SQLite gateway database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from gateway.reports.labelled import read_database
from tests.calibration.history import START, fill

ROOT = Path(__file__).resolve().parents[2]
UNTIL = "2026-04-01"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The signoff command line in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


class TestReadDatabase:
    """Which rows are labelled, with which pi, and how strata are counted."""

    def test_audit_labels_carry_their_probability_and_every_decision_is_counted(self, tmp_path: Path) -> None:
        """200 automatic decisions, every 2nd audited at pi 0.5, plus 50 reviewed: 150 labelled, 250 counted."""
        engine = fill(tmp_path / "s.db", auto=200, audited_every=2, wrong_every=10, held=50)
        with engine.connect() as conn:
            h = read_database(conn, "claims.payout", START, START.replace(month=4))
        assert len(h.conf) == 150 and h.pop_conf is not None and len(h.pop_conf) == 250
        assert sorted(set(h.pi.tolist())) == [0.5, 1.0]
        assert int(h.err.sum()) == 20 + 5  # audited wrong (i % 10 == 0, all even) and overridden reviews


class TestMonitorAlarmEvents:
    """`signoff monitor --record-alarms` writes raised/cleared events only on a change, and the chain verifies."""

    def test_raised_once_then_cleared_and_the_chain_verifies(self, tmp_path: Path) -> None:
        """30% audited errors against alpha 1%: alarm raised (exit 3), not repeated; alpha 90%: cleared."""
        db = tmp_path / "m.db"
        fill(db, auto=400, audited_every=1, wrong_every=3)
        url = f"sqlite:///{db}"
        base = [
            "monitor",
            "--db",
            url,
            "--decision-type",
            "claims.payout",
            "--since",
            "2026-03-01",
            "--until",
            UNTIL,
            "--record-alarms",
            "--format",
            "json",
        ]
        first = _cli(*base, "--alpha", "0.01")
        assert first.returncode == 3, first.stderr
        assert "recorded monitor_alarm_raised for claims-gbm@1" in first.stderr
        again = _cli(*base, "--alpha", "0.01")
        assert again.returncode == 3 and "recorded" not in again.stderr
        cleared = _cli(*base, "--alpha", "0.9")
        assert cleared.returncode == 0 and "recorded monitor_alarm_cleared" in cleared.stderr
        tail = _cli("audit", "verify", "--db", url)
        assert tail.returncode == 0, tail.stdout + tail.stderr
        model = json.loads(cleared.stdout)["models"]["claims-gbm@1"]
        assert model["audited_error"]["audited"] == 400 and not model["audited_error"]["alarm"]

    def test_record_alarms_needs_a_level(self, tmp_path: Path) -> None:
        """Without --alpha or --certificate there is no alarm to record: one line, exit 1."""
        db = tmp_path / "n.db"
        fill(db, auto=10, audited_every=1, wrong_every=3)
        run = _cli(
            "monitor",
            "--db",
            f"sqlite:///{db}",
            "--decision-type",
            "claims.payout",
            "--since",
            "2026-03-01",
            "--until",
            UNTIL,
            "--record-alarms",
        )
        assert run.returncode == 1 and run.stderr.count("\n") == 1 and "--record-alarms needs" in run.stderr


class TestNaiveEstimateOnStoredRows:
    """The stored rows give the same counts the statistics see."""

    def test_weights_undo_the_audit_rate(self, tmp_path: Path) -> None:
        """Sum of 1/pi over labelled automatic rows equals the number of automatic decisions here."""
        engine = fill(tmp_path / "w.db", auto=100, audited_every=2, wrong_every=7)
        with engine.connect() as conn:
            h = read_database(conn, "claims.payout", START, START.replace(month=4))
        assert np.isclose((1.0 / h.pi).sum(), 100.0)
