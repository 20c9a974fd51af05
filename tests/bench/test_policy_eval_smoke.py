"""``bench/policy_eval.py``'s smoke modes run in CI, so the evaluation benchmark cannot rot (no timing asserts)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _run(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "policy_eval.py"), "--smoke", *flags],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )


class TestPolicyEvalSmoke:
    """The comparison with Rego and the bands table, in their short modes."""

    def test_smoke_run_compares_both_evaluators_with_rego(self) -> None:
        """The report names both Signoff evaluators, the fastest regopy mode, the ratio, and full agreement."""
        pytest.importorskip("regopy", reason="regopy comes with the bench extra: pip install -e '.[bench]'")
        done = _run()

        assert done.returncode == 0, done.stderr
        assert "signoff generated evaluator: median" in done.stdout
        assert "signoff closures (the plain evaluator): median" in done.stdout
        assert "fastest regopy mode:" in done.stdout and "x faster" in done.stdout
        assert "route and rule agree on 300/300 requests" in done.stdout

    def test_bands_table_has_a_row_per_size(self) -> None:
        """The bands mode prints one row per policy size with all three engines."""
        done = _run("--bands")

        assert done.returncode == 0, done.stderr
        rows = [line for line in done.stdout.splitlines() if line.startswith(("| 3 |", "| 8 |"))]
        assert len(rows) == 2 and all(line.count("|") == 5 for line in rows)
