"""The audit benchmarks' smoke modes run in CI, so they cannot rot (no timing asserts)."""

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


class TestAuditWriteSmoke:
    """``bench/audit_write.py --smoke``: every append mode, a fraction of a second each."""

    def test_smoke_run_prints_every_mode_and_the_ratios(self) -> None:
        """The report names the machine, each mode's events/s, both ratios and the verdict."""
        done = _run("audit_write.py")

        assert done.returncode == 0, done.stdout + done.stderr
        assert "machine:" in done.stdout and "synchronous=FULL" in done.stdout
        for mode in ("append, 1 per commit", "append, 256 per commit", "SqlStore, 1 thread"):
            assert mode in done.stdout
        assert "ratio append 256 per commit / 1 per commit" in done.stdout
        assert "ratio SqlStore" in done.stdout and "target >= 50,000" in done.stdout


class TestVerifyChainSmoke:
    """``bench/verify_chain.py --smoke``: a 20k-event chain built, then verified."""

    def test_smoke_run_verifies_the_whole_chain_through_the_cli(self) -> None:
        """Both the CLI and the library walk verify every event; seconds per million are printed."""
        done = _run("verify_chain.py")

        assert done.returncode == 0, done.stdout + done.stderr
        assert "signoff audit verify" in done.stdout and "AuditLog.verify" in done.stdout
        assert "s per million events" in done.stdout and "target <= 2" in done.stdout
