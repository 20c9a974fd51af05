"""``bench/console_load.py --smoke`` runs in CI, so the console benchmark cannot rot (no timing asserts)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


class TestConsoleLoadSmoke:
    """Decide alone, then with 50 console reviewers, one short phase each."""

    def test_smoke_run_reports_both_phases_and_the_page_latencies(self) -> None:
        """The report has both Decide phases, every page kind, sign-offs and no page errors."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "console_load.py"), "--smoke"],
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        assert "| Decide alone |" in done.stdout and "| Decide + 50 console reviewers |" in done.stdout
        for kind in ("queue", "claim", "case", "submit", "all pages"):
            assert f"| {kind} |" in done.stdout
        assert "page errors 0" in done.stdout and "sign-offs 0," not in done.stdout
