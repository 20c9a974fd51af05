"""Verification: an untampered chain passes; each kind of tampering is named at its first row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import GENESIS, Event, NewEvent, chain, event_hash, verify


@pytest.fixture
def rows(make_events: Callable[..., list[NewEvent]]) -> list[Event]:
    """Ten correctly chained events, seq 1 to 10."""
    return chain(make_events(10), 0, GENESIS)


def renumber(rows: list[Event], by: int) -> list[Event]:
    """The rows with their seq moved by ``by`` and nothing else touched."""
    return [dataclasses.replace(r, seq=r.seq + by) for r in rows]


def forged(after: Event, **columns: object) -> Event:
    """A row chained after ``after`` with a correctly computed hash."""
    row = dataclasses.replace(after, seq=after.seq + 1, prev_hash=after.hash, **columns)
    return dataclasses.replace(row, hash=event_hash(row))


class TestUntampered:
    def test_empty_log_verifies(self) -> None:
        """An empty log is a valid chain whose head is the genesis."""
        report = verify(iter(()))

        assert (report.ok, report.count, report.head_seq, report.head_hash) == (True, 0, 0, GENESIS)

    def test_reports_the_head(self, rows: list[Event]) -> None:
        """A good chain reports its count and the last row's seq and hash, for anchoring."""
        report = verify(rows)

        assert (report.ok, report.count, report.head_seq, report.head_hash) == (True, 10, 10, rows[-1].hash)
        assert report.problem is None and report.first_bad_seq is None

    @given(
        st.lists(
            st.builds(
                NewEvent,
                type=st.text(max_size=12),
                time=st.datetimes(
                    min_value=datetime(1970, 1, 2),
                    max_value=datetime(9999, 1, 1),
                    timezones=st.just(UTC),
                ),
                actor=st.text(max_size=12),
                decision_id=st.text(max_size=8),
                policy_name=st.text(max_size=8),
                policy_version=st.integers(min_value=0, max_value=2**31),
                policy_digest=st.text(max_size=8),
                body=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4),
                decision_type=st.text(max_size=8),
            ),
            max_size=30,
        )
    )
    def test_accepts_any_untampered_chain(self, events: list[NewEvent]) -> None:
        """Whatever the events hold, the chain they form verifies in full."""
        report = verify(chain(events, 0, GENESIS))

        assert report.ok and report.count == len(events)


class TestChanged:
    def test_edited_body(self, rows: list[Event]) -> None:
        """A row whose body text was edited is reported changed at its seq."""
        rows[3] = dataclasses.replace(rows[3], body_json='{"i":3,"amount":0}')

        report = verify(rows)

        assert (report.ok, report.problem, report.first_bad_seq) == (False, "changed", 4)

    def test_edited_actor_column(self, rows: list[Event]) -> None:
        """Editing a column outside the body is caught just the same."""
        rows[3] = dataclasses.replace(rows[3], actor="mallory")

        assert (verify(rows).problem, verify(rows).first_bad_seq) == ("changed", 4)

    def test_edited_time_column(self, rows: list[Event]) -> None:
        """Back-dating a row by a second is caught."""
        rows[6] = dataclasses.replace(rows[6], time=rows[6].time - timedelta(seconds=1))

        assert (verify(rows).problem, verify(rows).first_bad_seq) == ("changed", 7)

    def test_edited_row_with_recomputed_hash(self, rows: list[Event]) -> None:
        """An edited row given a fresh hash is named: its successor still holds the old one."""
        rows[3] = forged(rows[2], body_json='{"i":3}')

        assert (verify(rows).problem, verify(rows).first_bad_seq) == ("changed", 4)

    def test_reports_progress_before_the_bad_row(self, rows: list[Event]) -> None:
        """The report counts the good rows before the first bad one and gives their head."""
        rows[3] = dataclasses.replace(rows[3], actor="mallory")

        report = verify(rows)

        assert (report.count, report.head_seq, report.head_hash) == (3, 3, rows[2].hash)


class TestRemoved:
    def test_deleted_row(self, rows: list[Event]) -> None:
        """A deleted row leaves a gap, reported removed at the missing seq."""
        del rows[4]

        assert (verify(rows).problem, verify(rows).first_bad_seq) == ("removed", 5)

    def test_deleted_first_row(self, rows: list[Event]) -> None:
        """A log that does not start at seq 1 lost its first row."""
        assert (verify(rows[1:]).problem, verify(rows[1:]).first_bad_seq) == ("removed", 1)

    def test_deleted_row_with_the_rest_renumbered(self, rows: list[Event]) -> None:
        """Closing the gap by renumbering the later rows is still reported removed."""
        tampered = rows[:4] + renumber(rows[5:], -1)

        assert (verify(tampered).problem, verify(tampered).first_bad_seq) == ("removed", 5)

    def test_cut_tail_needs_an_anchor(self, rows: list[Event]) -> None:
        """Rows cut from the end leave a valid shorter chain: only an anchored head shows it."""
        report = verify(rows[:7])

        assert report.ok and report.head_hash != rows[-1].hash


class TestInserted:
    def test_duplicated_seq(self, rows: list[Event]) -> None:
        """A second row with an existing seq is reported inserted."""
        tampered = rows[:5] + [rows[4]] + rows[5:]

        assert (verify(tampered).problem, verify(tampered).first_bad_seq) == ("inserted", 5)

    def test_forged_row_squeezed_in(self, rows: list[Event]) -> None:
        """A well-hashed row squeezed in, the later rows renumbered, is reported at its seq."""
        tampered = rows[:3] + [forged(rows[2], actor="mallory")] + renumber(rows[3:], 1)

        assert (verify(tampered).problem, verify(tampered).first_bad_seq) == ("inserted", 4)

    def test_garbage_row_squeezed_in(self, rows: list[Event]) -> None:
        """A row with made-up hashes squeezed in is reported inserted, not merely changed."""
        junk = dataclasses.replace(rows[2], seq=4, prev_hash="1" * 64, hash="2" * 64)
        tampered = rows[:3] + [junk] + renumber(rows[3:], 1)

        assert (verify(tampered).problem, verify(tampered).first_bad_seq) == ("inserted", 4)

    def test_seq_going_backwards(self, rows: list[Event]) -> None:
        """A row numbered below its predecessor is reported inserted at its own seq."""
        tampered = rows[:6] + [dataclasses.replace(rows[6], seq=2)] + rows[7:]

        assert (verify(tampered).problem, verify(tampered).first_bad_seq) == ("inserted", 2)
