"""Labelled history, replay and recorded alarms on each backend (SQLite file; PostgreSQL when set)."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from gateway.policy import load_policy
from gateway.reports.labelled import read_database
from gateway.reports.replay import replay
from tests.calibration.history import START, fill

ROOT = Path(__file__).resolve().parents[2]


class TestOnEachBackend:
    """The same stored decisions read the same way on SQLite and PostgreSQL."""

    def test_history_replay_and_alarm(self, db_url: str, tmp_path: Path) -> None:
        """Counts of labelled rows, a replay's transitions, and a recorded alarm that verifies in the chain."""
        engine = fill(db_url, auto=120, audited_every=2, wrong_every=3, held=30)
        end = START + timedelta(days=30)
        with engine.connect() as conn:
            hist = read_database(conn, "claims.payout", START, end)
            rep = replay(conn, load_policy(ROOT / "policies" / "claims-triage.yaml"), START, end)
        engine.dispose()
        assert hist.pop_conf is not None and (len(hist.conf), len(hist.pop_conf)) == (90, 150)
        assert {(t["from"], t["to"]): t["count"] for t in rep["transitions"]} == {
            ("auto", "auto"): 120,
            ("junior", "junior"): 30,
        }
        assert sum(d["old"] for d in rep["load_per_day"]) == 30 and rep["load_per_day"][0]["day"] == "2026-03-01"
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "monitor",
                "--db",
                db_url,
                "--decision-type",
                "claims.payout",
                "--since",
                "2026-03-01",
                "--until",
                "2026-04-01",
                "--alpha",
                "0.01",
                "--record-alarms",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert run.returncode == 3 and "recorded monitor_alarm_raised" in run.stderr, run.stderr
        verify = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "audit", "verify", "--db", db_url],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert verify.returncode == 0, verify.stdout + verify.stderr
