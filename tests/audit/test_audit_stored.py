"""Verification from raw stored columns: the time as stored, every column's edit found in the database."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, insert, select, text

from audit import (
    GENESIS,
    AuditLog,
    Event,
    NewEvent,
    audit_events,
    canonical_json,
    chain,
    chain_with_times,
    event_preimage,
    hashed_time,
    verify,
    verify_stored,
)
from audit.verify import stored_row

LOG = AuditLog()


@pytest.fixture
def filled(audit_engine: Engine, make_events: Callable[..., list[NewEvent]]) -> Engine:
    """The audit database holding twelve sample events, appended in one transaction."""
    with audit_engine.begin() as conn:
        LOG.append(conn, make_events(12))
    return audit_engine


def edit(engine: Engine, sql: str, **params: object) -> None:
    """Run one statement behind the log's back (the test tables have no triggers)."""
    with engine.begin() as conn:
        conn.execute(text(sql), params)


class TestHashedTime:
    def test_is_the_text_sqlite_stores(self, tmp_path: object) -> None:
        """``hashed_time`` is byte for byte what ``UtcDateTime`` writes into a SQLite column."""
        from sqlalchemy import create_engine

        from audit import metadata

        engine = create_engine(f"sqlite:///{tmp_path}/t.db")
        metadata.create_all(engine)
        at = datetime(2026, 3, 1, 7, 5, 9, 0, tzinfo=timezone(timedelta(hours=2)))
        e = chain([NewEvent(type="t", time=at, actor="a")], 0, GENESIS)[0]
        with engine.begin() as conn:
            conn.execute(insert(audit_events).values(dataclasses.asdict(e)))
            stored = conn.exec_driver_sql("SELECT time FROM audit_events").scalar_one()
        engine.dispose()

        assert stored == hashed_time(at) == "2026-03-01 05:05:09.000000"

    def test_preimage_covers_the_hashed_time_text(self) -> None:
        """The preimage is version 2 and carries the time as ``hashed_time`` text."""
        at = datetime(2026, 3, 1, 7, 5, 9, 12, tzinfo=UTC)

        pre = event_preimage(1, at, "t", "d", "a", "p", 1, "g", "{}")

        assert pre.startswith(b"signoff.audit.v2\n") and b"26:2026-03-01 07:05:09.000012" in pre

    def test_chain_returns_the_times_it_hashed(self, new_events: list[NewEvent]) -> None:
        """``chain_with_times`` gives the same events as ``chain`` and each one's hashed time."""
        events, times = chain_with_times(new_events, 0, GENESIS)

        assert events == chain(new_events, 0, GENESIS)
        assert times == [hashed_time(e.time) for e in events]

    def test_chain_takes_a_body_already_serialised(self, new_events: list[NewEvent]) -> None:
        """An event carrying its canonical body text chains exactly as one carrying the body."""
        given = [dataclasses.replace(e, body_json=canonical_json(e.body)) for e in new_events]

        assert chain(given, 0, GENESIS) == chain(new_events, 0, GENESIS)


class TestVerifyStored:
    def test_agrees_with_verify_on_events(self, make_events: Callable[..., list[NewEvent]]) -> None:
        """Raw rows and events of the same chain give the same report."""
        rows = chain(make_events(9), 0, GENESIS)

        assert verify_stored(map(stored_row, rows)) == verify(rows)

    def test_a_null_column_is_changed(self, make_events: Callable[..., list[NewEvent]]) -> None:
        """A NULL where text belongs never recomputes: the row is reported changed."""
        raw = [list(stored_row(e)) for e in chain(make_events(5), 0, GENESIS)]
        raw[2][5] = None

        report = verify_stored(tuple(r) for r in raw)

        assert (report.problem, report.first_bad_seq) == ("changed", 3)

    def test_a_seq_that_is_not_a_number_is_changed(self, make_events: Callable[..., list[NewEvent]]) -> None:
        """A seq stored as text is reported changed at the number it should hold."""
        raw = [list(stored_row(e)) for e in chain(make_events(5), 0, GENESIS)]
        raw[3][0] = "four"

        report = verify_stored(tuple(r) for r in raw)

        assert (report.problem, report.first_bad_seq) == ("changed", 4)


class TestStoredRows:
    def test_match_the_events_read_back(self, filled: Engine) -> None:
        """``iter_stored`` gives each event's columns, the time as its hashed text, in seq order."""
        with filled.connect() as conn:
            events = list(LOG.iter_events(conn))
            raw = list(LOG.iter_stored(conn))

        assert raw == [stored_row(e) for e in events] and [r[0] for r in raw] == list(range(1, 13))

    def test_times_far_from_now_render_alike(self, audit_engine: Engine) -> None:
        """Early years, zero microseconds and other zones render in the database as in Python."""
        times = [
            datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-11))),
        ]
        with audit_engine.begin() as conn:
            LOG.append(conn, [NewEvent(type="t", time=t, actor="a") for t in times])

        report = LOG.verify(audit_engine)

        assert report.ok and report.count == 2

    def test_verify_inside_the_callers_transaction(self, filled: Engine) -> None:
        """verify runs on a connection already in a transaction and leaves it usable."""
        with filled.begin() as conn:
            before = LOG.head(conn)
            report = LOG.verify(conn)
            after = LOG.head(conn)

        assert report.ok and report.count == 12 and before == after


class TestTamperedInTheDatabase:
    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("type", "routed!"),
            ("decision_id", "d-x"),
            ("decision_type", "other"),
            ("actor", "mallory"),
            ("policy_name", "p2"),
            ("policy_version", 4),
            ("policy_digest", "sha256:" + "e" * 64),
            ("body_json", '{"i":6}'),
            ("prev_hash", "1" * 64),
            ("hash", "2" * 64),
        ],
    )
    def test_every_column_edit_is_changed(self, filled: Engine, column: str, value: object) -> None:
        """Editing any single column of a stored row is reported changed at that row."""
        edit(filled, f"UPDATE audit_events SET {column} = :v WHERE seq = 7", v=value)

        report = LOG.verify(filled)

        assert (report.ok, report.problem, report.first_bad_seq, report.count) == (False, "changed", 7, 6)

    def test_time_moved_by_a_microsecond_is_changed(self, filled: Engine) -> None:
        """A stored time moved by one microsecond is reported changed."""
        with filled.connect() as conn:
            at = conn.execute(select(audit_events.c.time).where(audit_events.c.seq == 5)).scalar_one()
        with filled.begin() as conn:
            conn.execute(
                audit_events.update().where(audit_events.c.seq == 5).values(time=at + timedelta(microseconds=1))
            )

        report = LOG.verify(filled)

        assert (report.problem, report.first_bad_seq) == ("changed", 5)

    def test_deleted_row_is_removed(self, filled: Engine) -> None:
        """A row deleted from the table is reported removed at its seq."""
        edit(filled, "DELETE FROM audit_events WHERE seq = 9")

        assert (LOG.verify(filled).problem, LOG.verify(filled).first_bad_seq) == ("removed", 9)

    def test_row_squeezed_in_is_inserted(self, filled: Engine) -> None:
        """A made-up row squeezed in at seq 5, the later rows renumbered, is reported inserted."""
        edit(filled, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
        edit(filled, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1005")
        with filled.connect() as conn:
            row4 = conn.execute(select(audit_events).where(audit_events.c.seq == 4)).one()
        junk = Event(**{**row4._asdict(), "seq": 5, "prev_hash": "1" * 64, "hash": "2" * 64})
        with filled.begin() as conn:
            conn.execute(insert(audit_events).values(dataclasses.asdict(junk)))

        report = LOG.verify(filled)

        assert (report.problem, report.first_bad_seq) == ("inserted", 5)
