"""The gateway benchmarks' smoke modes run in CI, so the benchmarks cannot rot (no timing asserts)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def _run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


class TestDecideLoadSmoke:
    """``bench/decide_load.py --smoke``: echo and gateway, one short level each."""

    def test_smoke_run_prints_both_servers_and_the_ratios(self) -> None:
        """The report names the machine, both servers, the ratios and the target verdict."""
        done = _run("decide_load.py")

        assert done.returncode == 0, done.stderr
        assert "machine:" in done.stdout and "grpcio" in done.stdout
        assert "| echo | 4 |" in done.stdout and "| gateway (sqlite) | 4 |" in done.stdout
        assert "| sqlite | 4 |" in done.stdout and "targets at 4 in flight" in done.stdout


class TestSoakSmoke:
    """``bench/soak.py --smoke``: ten seconds of load with reviewers."""

    def test_smoke_run_finds_every_decision_in_a_verified_log(self) -> None:
        """Every acknowledged decision is logged, the chain verifies, and RSS is reported."""
        done = _run("soak.py")

        assert done.returncode == 0, done.stdout + done.stderr
        assert "missing 0" in done.stdout and "chain ok" in done.stdout
        assert "growth across the last half" in done.stdout


class TestDecideBreakdownSmoke:
    """``bench/decide_breakdown.py --smoke``: the diagnostic, with and without the store."""

    def test_smoke_run_reports_threads_writer_and_gc_pauses(self) -> None:
        """The real store shows writer transactions; every mode answers without errors."""
        done = _run("decide_breakdown.py")
        assert done.returncode == 0, done.stderr
        assert "gateway (store):" in done.stdout and "errors {}" in done.stdout
        assert "thread signoff-rpc" in done.stdout and "writer:" in done.stdout
        assert "gc pauses by generation" in done.stdout

    def test_no_store_and_echo_modes_run(self) -> None:
        """``--mode no-store`` and ``--mode echo`` print their one line each."""
        for mode, expected in (("no-store", "gateway (no-store):"), ("echo", "echo:")):
            done = subprocess.run(
                [sys.executable, str(ROOT / "bench" / "decide_breakdown.py"), "--smoke", "--mode", mode],
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
                cwd=ROOT,
            )
            assert done.returncode == 0, done.stderr
            assert expected in done.stdout


class TestCompareTreesSmoke:
    """``bench/compare_trees.py``: one short pair of this checkout against itself."""

    def test_one_pair_prints_a_row(self) -> None:
        """Both runs answer and the pair's row is printed."""
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "compare_trees.py"),
                str(ROOT),
                str(ROOT),
                "--pairs",
                "1",
                "--seconds",
                "2",
                "--concurrency",
                "4",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        assert "| 1 | " in done.stdout and "before CPU" in done.stdout

    def test_a_folder_that_is_no_checkout_is_refused_in_one_line(self, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Exit 2 and one line naming the folder."""
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "compare_trees.py"), str(tmp_path), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )
        assert done.returncode == 2
        assert done.stderr.strip() == f"compare_trees: {tmp_path} is not a Signoff checkout"
