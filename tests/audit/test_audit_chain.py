"""Chaining: numbering, linking, and a hash that covers every column."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta, timezone

import pytest

from audit import GENESIS, NewEvent, chain, chain_hash, event_hash, event_preimage


class TestChain:
    def test_numbers_events_after_the_head(self, new_events: list[NewEvent]) -> None:
        """Chained events are numbered from the head's seq plus one."""
        got = chain(new_events, 41, "a" * 64)

        assert [e.seq for e in got] == list(range(42, 50))

    def test_first_event_hangs_from_genesis(self, new_events: list[NewEvent]) -> None:
        """On an empty log, the first event's prev_hash is the genesis hash."""
        assert chain(new_events, 0, GENESIS)[0].prev_hash == GENESIS

    def test_each_event_links_to_the_previous_hash(self, new_events: list[NewEvent]) -> None:
        """Every prev_hash is the hash of the event before it."""
        got = chain(new_events, 0, GENESIS)

        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(got))

    def test_hash_recomputes_from_the_columns(self, new_events: list[NewEvent]) -> None:
        """A chained event's hash is sha256(prev_hash || preimage of its columns)."""
        e = chain(new_events, 0, GENESIS)[3]
        pre = event_preimage(
            e.seq,
            e.time,
            e.type,
            e.decision_id,
            e.actor,
            e.policy_name,
            e.policy_version,
            e.policy_digest,
            e.body_json,
            e.decision_type,
        )

        assert chain_hash(e.prev_hash, pre) == e.hash == event_hash(e)

    def test_times_are_stored_in_utc(self, new_events: list[NewEvent]) -> None:
        """An event written in another zone is stored as the same instant in UTC."""
        local = dataclasses.replace(new_events[0], time=new_events[0].time.astimezone(timezone(timedelta(hours=-5))))

        got = chain([local], 0, GENESIS)[0]

        assert got.time == new_events[0].time and got.time.utcoffset() == timedelta(0)

    def test_is_deterministic(self, new_events: list[NewEvent]) -> None:
        """The same events after the same head give the same hashes."""
        assert chain(new_events, 0, GENESIS) == chain(new_events, 0, GENESIS)


class TestPreimage:
    @pytest.mark.parametrize(
        ("column", "value"),
        [
            ("seq", 99),
            ("type", "routed!"),
            ("decision_id", "d-x"),
            ("decision_type", "other"),
            ("actor", "mallory"),
            ("policy_name", "p2"),
            ("policy_version", 4),
            ("policy_digest", "sha256:" + "e" * 64),
            ("body_json", '{"i":1}'),
            ("prev_hash", "1" * 64),
        ],
    )
    def test_every_column_changes_the_hash(self, new_events: list[NewEvent], column: str, value: object) -> None:
        """Editing any single column of a stored event breaks its hash."""
        e = chain(new_events, 0, GENESIS)[0]

        edited = dataclasses.replace(e, **{column: value})

        assert event_hash(edited) != e.hash

    def test_time_changes_the_hash(self, new_events: list[NewEvent]) -> None:
        """Moving an event's time by one microsecond breaks its hash."""
        e = chain(new_events, 0, GENESIS)[0]

        assert event_hash(dataclasses.replace(e, time=e.time + timedelta(microseconds=1))) != e.hash

    def test_field_boundaries_cannot_shift(self, new_events: list[NewEvent]) -> None:
        """Moving text from one column into the next gives a different preimage."""
        e = chain(new_events, 0, GENESIS)[0]
        a = dataclasses.replace(e, actor="ab", policy_name="c")
        b = dataclasses.replace(e, actor="a", policy_name="bc")

        assert event_hash(a) != event_hash(b)

    def test_body_is_hashed_as_stored(self, new_events: list[NewEvent]) -> None:
        """Two JSON texts of the same value hash differently: the stored text is what counts."""
        e = dataclasses.replace(chain(new_events, 0, GENESIS)[0], body_json='{"a":1}')

        assert event_hash(e) != event_hash(dataclasses.replace(e, body_json='{"a": 1}'))
