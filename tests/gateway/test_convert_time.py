"""Times on the wire: ``to_timestamp`` is exact and agrees with protobuf's own conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

from gateway.rpc.convert import timestamp, to_timestamp

_ZONES = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_TIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=_ZONES)


class TestToTimestamp:
    """The hand-computed Timestamp (it is on every Decide's answer) matches ``FromDatetime``."""

    @given(_TIMES)
    def test_agrees_with_protobuf(self, value: datetime) -> None:
        """Any aware time in any zone gives the Timestamp that ``FromDatetime`` gives for it in UTC."""
        expected = timestamp_pb2.Timestamp()
        expected.FromDatetime(value.astimezone(UTC))
        assert to_timestamp(value) == expected

    @given(_TIMES)
    def test_round_trips(self, value: datetime) -> None:
        """Reading the Timestamp back gives the same instant."""
        assert timestamp(to_timestamp(value), "t") == value  # type: ignore[arg-type]

    def test_none_stays_unset(self) -> None:
        """No time is no Timestamp."""
        assert to_timestamp(None) is None
