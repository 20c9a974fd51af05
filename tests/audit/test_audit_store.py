"""The SQL audit log: appends in the caller's transaction, filtered reads, streamed verify."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from audit import GENESIS, AuditLog, NewEvent, PolicyConflict

LOG = AuditLog()
T0 = datetime(2026, 11, 24, 9, 30, 0, 250000, tzinfo=UTC)


@pytest.fixture
def filled(audit_engine: Engine, make_events: Callable[..., list[NewEvent]]) -> Engine:
    """The audit database holding sixteen sample events, appended in two transactions."""
    events = make_events(16)
    with audit_engine.begin() as conn:
        LOG.append(conn, events[:9])
    with audit_engine.begin() as conn:
        LOG.append(conn, events[9:])
    return audit_engine


class TestAppend:
    def test_empty_log_head_is_genesis(self, audit_engine: Engine) -> None:
        """An empty log's head is seq 0 and the genesis hash."""
        with audit_engine.connect() as conn:
            assert LOG.head(conn) == (0, GENESIS)

    def test_appends_continue_the_chain(self, filled: Engine) -> None:
        """A second append chains after the first: the head is the last event and all verify."""
        with filled.connect() as conn:
            seq, _ = LOG.head(conn)

        assert seq == 16 and LOG.verify(filled).ok

    def test_rolled_back_append_leaves_nothing(self, audit_engine: Engine, new_events: list[NewEvent]) -> None:
        """Events appended in a transaction that rolls back are not in the log."""
        with audit_engine.connect() as conn:
            with conn.begin() as tx:
                LOG.append(conn, new_events)
                tx.rollback()
            assert LOG.head(conn) == (0, GENESIS)

    def test_returns_the_stored_events(self, audit_engine: Engine, new_events: list[NewEvent]) -> None:
        """append returns exactly what a read gives back, times aware UTC."""
        with audit_engine.begin() as conn:
            written = LOG.append(conn, new_events)
        with audit_engine.connect() as conn:
            read = list(LOG.iter_events(conn))

        assert read == written and read[0].time.tzinfo == UTC


class TestIterEvents:
    def test_by_decision(self, filled: Engine) -> None:
        """Filtering by decision id gives that decision's events in seq order."""
        with filled.connect() as conn:
            got = [e.seq for e in LOG.iter_events(conn, decision_id="d-1")]

        assert got == [5, 6, 7, 8]

    def test_by_types_and_after_seq(self, filled: Engine) -> None:
        """Type and after-seq filters combine."""
        with filled.connect() as conn:
            got = [e.seq for e in LOG.iter_events(conn, types=["routed"], after_seq=6)]

        assert got == [10, 14]

    def test_by_time_range(self, filled: Engine) -> None:
        """since is inclusive and until exclusive."""
        with filled.connect() as conn:
            got = [
                e.seq for e in LOG.iter_events(conn, since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=5))
            ]

        assert got == [3, 4, 5]

    def test_by_decision_type_with_limit(self, filled: Engine) -> None:
        """Decision type filters and limit caps the rows."""
        with filled.connect() as conn:
            got = [e.seq for e in LOG.iter_events(conn, decision_type="loans.credit", limit=3)]

        assert got == [2, 4, 6]


class TestVerify:
    def test_detects_an_edit_made_in_the_database(self, filled: Engine) -> None:
        """A column changed behind the log's back (no triggers here) is found by verify."""
        with filled.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 7"))

        report = LOG.verify(filled)

        assert (report.ok, report.problem, report.first_bad_seq) == (False, "changed", 7)

    def test_detects_a_deleted_row(self, filled: Engine) -> None:
        """A row deleted behind the log's back is found by verify."""
        with filled.begin() as conn:
            conn.execute(text("DELETE FROM audit_events WHERE seq = 11"))

        report = LOG.verify(filled)

        assert (report.problem, report.first_bad_seq) == ("removed", 11)

    def test_accepts_a_connection(self, filled: Engine) -> None:
        """verify also runs on a connection the caller holds."""
        with filled.connect() as conn:
            assert LOG.verify(conn).count == 16


class TestPolicies:
    def store(self, engine: Engine, digest: str = "sha256:aa", version: int = 1) -> bool:
        """Store a claims policy version."""
        with engine.begin() as conn:
            return LOG.store_policy(
                conn,
                name="claims-triage",
                version=version,
                digest=digest,
                decision_type="claims.payout",
                text=f"version: {version}\n",
                loaded_at=T0,
            )

    def test_stores_a_version_once(self, audit_engine: Engine) -> None:
        """The first store is new; the same version and digest again is not."""
        assert (self.store(audit_engine), self.store(audit_engine)) == (True, False)

    def test_refuses_other_content_under_the_same_version(self, audit_engine: Engine) -> None:
        """The same version with another digest raises PolicyConflict."""
        self.store(audit_engine)

        with pytest.raises(PolicyConflict):
            self.store(audit_engine, digest="sha256:bb")

    def test_lists_versions_in_order(self, audit_engine: Engine) -> None:
        """Stored versions list by name then version, with their text and aware load time."""
        for v in (2, 1):
            self.store(audit_engine, version=v)

        with audit_engine.connect() as conn:
            got = LOG.list_policies(conn)

        assert [(p.version, p.text, p.loaded_at) for p in got] == [
            (1, "version: 1\n", T0),
            (2, "version: 2\n", T0),
        ]

    def test_unknown_version_is_none(self, audit_engine: Engine) -> None:
        """Asking for a version never stored gives None."""
        with audit_engine.connect() as conn:
            assert LOG.get_policy(conn, "claims-triage", 7) is None
