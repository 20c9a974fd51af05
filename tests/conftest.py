"""Shared fixtures: a real gateway on port 0 over a real SQLite file, and its generated stubs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOKENS = {
    "caller": "dev-caller-token",
    "alice": "dev-alice-token",
    "bob": "dev-bob-token",
    "carol": "dev-carol-token",
    "dana": "dev-dana-token",
    "moderation": "dev-moderation-token",
    "erin": "dev-erin-token",
}
POSTGRES_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "")
NO_POSTGRES = (
    "SIGNOFF_TEST_POSTGRES_URL is unset: set it to a PostgreSQL URL, e.g."
    " postgresql+psycopg://postgres@127.0.0.1:5432/test, to run the PostgreSQL tests"
)
"""The one skip reason of the PostgreSQL tests: it names the variable, not a missing server."""


def serve_argv(db_url: str, policy_dir: Path, *extra: str, log_level: str | None = "warning") -> list[str]:
    """The `signoff serve` command line of the tests: port 0, the dev principals, no checkpoints
    (``log_level`` None: no ``--log-level`` flag, so the default or SIGNOFF_LOG_LEVEL applies)."""
    level = ["--log-level", log_level] if log_level else []
    return [
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--no-checkpoints",
        "--address",
        "127.0.0.1:0",
        "--db",
        db_url,
        "--policies",
        str(policy_dir),
        "--principals",
        str(ROOT / "config" / "dev-principals.yaml"),
        *level,
        *extra,
    ]


def spawn_serve(
    db_url: str,
    policy_dir: Path,
    *extra: str,
    log_level: str | None = "warning",
    stderr: Any = subprocess.PIPE,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], str]:
    """Start `signoff serve` as a process and wait for its 'serving on' line: (process, address)."""
    proc = subprocess.Popen(
        serve_argv(db_url, policy_dir, *extra, log_level=log_level),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server is up (or the process dies)
    if not line.startswith("signoff: serving on "):
        proc.kill()
        err = proc.stderr.read() if stderr is subprocess.PIPE and proc.stderr else ""
        raise AssertionError(f"gateway did not start: {line!r} (exit {proc.wait()}) {err}")
    return proc, line.split()[3]


def eventually(predicate: Callable[[], bool], seconds: float = 15.0) -> bool:
    """Poll ``predicate`` every 0.1 s until it holds or ``seconds`` pass; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def auth(who: str) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying the development token of ``who``."""
    return (("authorization", f"Bearer {TOKENS[who]}"),)


@dataclass
class Client:
    """Generated stubs bound to one channel."""

    channel: grpc.Channel
    address: str

    def __post_init__(self) -> None:
        from signoff.v1 import audit_pb2_grpc, decision_pb2_grpc, policy_pb2_grpc, review_pb2_grpc

        self.decisions = decision_pb2_grpc.DecisionServiceStub(self.channel)
        self.review = review_pb2_grpc.ReviewServiceStub(self.channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(self.channel)
        self.policies = policy_pb2_grpc.PolicyServiceStub(self.channel)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped policies, so a test may edit them."""
    target = tmp_path / "policies"
    target.mkdir()
    for f in (ROOT / "policies").glob("*.yaml"):
        shutil.copy(f, target / f.name)
    shutil.copytree(ROOT / "policies" / "schema", target / "schema")
    return target


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'signoff.db'}"


def start_app(db_url: str, policy_dir: Path, **settings: object) -> object:
    """A gateway built in this process on 127.0.0.1 port 0 (``settings`` override the test defaults)."""
    from gateway.bootstrap import Settings, build_app, configure_logging

    configure_logging("warning")
    defaults: dict[str, object] = {
        "address": "127.0.0.1:0",
        "database_url": db_url,
        "policy_dir": policy_dir,
        "principals_file": ROOT / "config" / "dev-principals.yaml",
        "reload_seconds": 0.2,
        "sweep_seconds": 0.5,
    }
    return build_app(Settings(**{**defaults, **settings}))  # type: ignore[arg-type]


@pytest.fixture
def gateway(db_url: str, policy_dir: Path) -> Iterator[object]:
    """A running gateway (in this process) on 127.0.0.1 port 0."""
    app = start_app(db_url, policy_dir)
    yield app
    app.stop()  # type: ignore[attr-defined]


@pytest.fixture
def client(gateway: object) -> Iterator[Client]:
    """Stubs connected to the ``gateway`` fixture."""
    address = f"127.0.0.1:{gateway.port}"  # type: ignore[attr-defined]
    channel = grpc.insecure_channel(address)
    yield Client(channel, address)
    channel.close()


def new_request_id() -> str:
    """A unique idempotency key."""
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost, made with openssl."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert
