"""``bench/model_call.py --smoke`` runs in CI, so it cannot rot (no timing asserts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not (ROOT / ".mlserver-venv" / "bin" / "mlserver").exists(),
    reason="MLServer is not installed: run tools/mlserver_env.sh (.ci/run does)",
)
class TestModelCallSmoke:
    def test_smoke_prints_both_levels(self) -> None:
        """Both in-flight levels of both transports print direct and gateway figures and the throughput ratio."""
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "model_call.py"), "--smoke"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert out.returncode == 0, out.stderr[-800:]
        lines = [line for line in out.stdout.splitlines() if " in flight " in line]
        assert len(lines) == 4 and all("throughput ratio" in line for line in lines)
        assert sum(line.startswith("oip-grpc") for line in lines) == 2
