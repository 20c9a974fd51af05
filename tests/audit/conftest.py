"""Fixtures for the audit library: sample events, and a fresh database per test (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from audit import NewEvent, metadata
from tests.conftest import NO_POSTGRES

T0 = datetime(2026, 11, 24, 9, 30, 0, 250000, tzinfo=UTC)
POSTGRES_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "")


def sample_events(n: int, *, start: datetime = T0) -> list[NewEvent]:
    """``n`` varied events about a handful of decisions, one second apart."""
    types = ("decision_received", "routed", "review_claimed", "review_submitted")
    return [
        NewEvent(
            type=types[i % len(types)],
            time=start + timedelta(seconds=i),
            actor=f"actor-{i % 3}",
            decision_id=f"d-{i // 4}",
            policy_name="claims-triage",
            policy_version=3,
            policy_digest="sha256:" + "b" * 64,
            body={"i": i, "note": "señal ✓", "amount": i * 1.5},
            decision_type="claims.payout" if i % 2 == 0 else "loans.credit",
        )
        for i in range(n)
    ]


@pytest.fixture
def new_events() -> list[NewEvent]:
    """Eight sample events."""
    return sample_events(8)


@pytest.fixture
def make_events() -> Callable[..., list[NewEvent]]:
    """The sample event factory, for tests that need a given number of events."""
    return sample_events


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=[pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)],
        ),
    ]
)
def audit_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a fresh database holding the audit tables (created from the metadata)."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    schema = f"audit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
