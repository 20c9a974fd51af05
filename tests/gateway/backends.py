"""A gateway per backend (a real SQLite file, and a private PostgreSQL schema when one is set),
shared by a module's tests: for behaviour that differs between the backends."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.conftest import ROOT, Client

POSTGRES_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "")
NO_POSTGRES = "SIGNOFF_TEST_POSTGRES_URL is not set, so the PostgreSQL case cannot run"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)],
    ),
]


def copy_policies(target: Path) -> Path:
    """A private copy of the shipped policies under ``target``."""
    target.mkdir(parents=True)
    for f in (ROOT / "policies").glob("*.yaml"):
        shutil.copy(f, target / f.name)
    shutil.copytree(ROOT / "policies" / "schema", target / "schema")
    return target


_JUNIOR = "    description: Review band, 0.70 to 0.92 confidence.\n"
JUNIOR_SLA = "    sla: {due: 4h, warn: 3h, on_timeout: {action: escalate, queue: senior}}\n"
"""The shipped junior queue's SLA line (claims-triage version 2)."""
_REGION = "    region:\n      type: string\n"


def edit_claims_policy(
    policies: Path, *, junior: str = "", region: str = "", append: str = "", junior_sla: str | None = None
) -> Path:
    """Edit the claims-triage copy in ``policies``: ``junior`` lines added to the junior queue,
    ``junior_sla`` (a whole line) in place of its shipped SLA line, ``region`` lines after the
    ``region`` input property, ``append`` at the end; ``policies``."""
    path = policies / "claims-triage.yaml"
    before = path.read_text()
    after = before.replace(_JUNIOR, _JUNIOR + junior).replace(_REGION, _REGION + region) + append
    if junior_sla is not None:
        assert JUNIOR_SLA in after, "the claims policy no longer has the shipped junior SLA"
        after = after.replace(JUNIOR_SLA, junior_sla)
    assert after != before, "the claims policy no longer has the lines this edit anchors on"
    path.write_text(after)
    return policies


@contextmanager
def database_url(kind: str, root: Path) -> Iterator[str]:
    """A database URL: a SQLite file under ``root``, or a fresh PostgreSQL schema dropped after."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'signoff.db'}"
        return
    schema = f"signoff_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def served(kind: str, root: Path, policy_dir: Path) -> Iterator[tuple[str, Client, object]]:
    """A gateway in this process on ``kind``'s database with ``policy_dir``: its URL, stubs, app."""
    from gateway.bootstrap import Settings, build_app, configure_logging

    with database_url(kind, root) as url:
        configure_logging("warning")
        app = build_app(
            Settings(
                address="127.0.0.1:0",
                database_url=url,
                policy_dir=policy_dir,
                principals_file=ROOT / "config" / "dev-principals.yaml",
                reload_seconds=0.2,
                sweep_seconds=0.5,
            )
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            yield url, Client(channel, f"127.0.0.1:{app.port}"), app
        finally:
            channel.close()
            app.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """Stubs on a gateway over SQLite or over a fresh PostgreSQL schema (dropped after)."""
    root = tmp_path_factory.mktemp("backend")
    with served(request.param, root, copy_policies(root / "policies")) as (_, client, _app):
        yield client
