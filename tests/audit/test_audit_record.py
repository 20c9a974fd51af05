"""The canonical JSON form and the event records."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType

import pytest

from audit import GENESIS, Event, canonical_json, iso_utc


class TestCanonicalJson:
    def test_sorts_keys_without_spaces(self) -> None:
        """Keys are sorted and no whitespace separates tokens."""
        assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'

    def test_keeps_unicode_as_is(self) -> None:
        """Non-ASCII text is written as UTF-8 characters, not escapes."""
        assert canonical_json({"n": "señal ✓"}) == '{"n":"señal ✓"}'

    def test_refuses_nan(self) -> None:
        """NaN has no JSON form, so it is refused rather than written as a non-standard token."""
        with pytest.raises(ValueError):
            canonical_json({"x": math.nan})

    def test_renders_datetimes_in_utc_with_microseconds(self) -> None:
        """Datetimes become ISO-8601 UTC with microseconds and a Z, whatever their zone."""
        t = datetime(2026, 1, 2, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))

        assert canonical_json({"t": t}) == '{"t":"2026-01-02T03:05:06.000000Z"}'

    def test_refuses_naive_datetimes(self) -> None:
        """A datetime without a zone is refused: its instant is unknown."""
        with pytest.raises(ValueError):
            canonical_json({"t": datetime(2026, 1, 2)})

    def test_equal_mappings_give_equal_text(self) -> None:
        """A read-only mapping and a dict with the same items render identically."""
        assert canonical_json(MappingProxyType({"z": 1, "a": (1,)})) == canonical_json({"a": [1], "z": 1})


class TestIsoUtc:
    def test_has_fixed_width(self) -> None:
        """Whole seconds still carry six microsecond digits, so text order is time order."""
        assert iso_utc(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"


class TestEvent:
    def test_body_parses_the_stored_json(self) -> None:
        """An event's body is its stored canonical JSON, parsed."""
        e = Event(1, datetime(2026, 1, 1, tzinfo=UTC), "t", "", "a", "", 0, "", '{"k":[1]}', GENESIS, "f" * 64)

        assert e.body == {"k": [1]}
