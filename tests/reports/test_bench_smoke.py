"""``bench/report_scale.py --smoke`` runs in CI, so the benchmark cannot rot."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


class TestReportScaleSmoke:
    """The benchmark's smallest run."""

    def test_smoke_run_prints_the_table(self) -> None:
        """1k decisions load, report, verify and look up, and the table is printed."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "report_scale.py"), "--smoke"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "| sqlite | 1,000 |" in done.stdout
