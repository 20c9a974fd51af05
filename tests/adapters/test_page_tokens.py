"""Issue 10, item 4: page tokens are HMAC-signed and their keys checked, so a forged or
out-of-range token is InvalidRequest on every backend, never a query that fails."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine

from gateway.adapters import SqlStore, queries
from gateway.adapters.audit_reader import SqlAuditReader
from gateway.errors import InvalidRequest
from tests.adapters.test_queries_contract import seed

KEY = b"k" * 32


@pytest.fixture
def reader(store: SqlStore, engine: Engine) -> SqlAuditReader:
    """A reader with a known key over ten seeded decisions."""
    seed(store)
    return SqlAuditReader(engine, token_key=KEY)


def _fingerprint(kind: str, **filters: object) -> str:
    cls = queries.DecisionFilter if kind == "decisions" else queries.EventFilter
    return queries._fingerprint(kind, cls(**filters))  # type: ignore[arg-type]


def _refused(call, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest) as err:
        call(*args)
    assert err.value.field in ("page_token", "policy_version")
    return err.value.message


class TestSignedTokens:
    """Tokens carry an HMAC under the reader's key."""

    def test_round_trip(self, reader):
        """A token the reader issued gives the next page."""
        first = reader.decision_page({}, 4)
        rest = reader.decision_page({}, 100, first.next_page_token)
        assert len(first.items) == 4 and len(rest.items) == 6

    def test_unsigned_token_with_the_right_filter_hash(self, reader):
        """The old unsigned form with key 2**70 is refused without a query."""
        body = queries.canonical_json({"k": [2**70], "q": _fingerprint("events"), "v": 1}).encode()
        token = base64.urlsafe_b64encode(body).decode().rstrip("=")
        assert _refused(reader.event_page, {}, 1, token) == "is not a page token this gateway issued"

    def test_edited_token(self, reader):
        """Changing one character of the signed part breaks the MAC."""
        token = reader.event_page({}, 1).next_page_token
        body, _, mac = token.partition(".")
        forged = ("A" if body[0] != "A" else "B") + body[1:] + "." + mac
        _refused(reader.event_page, {}, 1, forged)

    def test_token_of_another_key(self, reader, engine):
        """A token from a reader with another key (a restarted gateway without a set key) is refused."""
        token = SqlAuditReader(engine).event_page({}, 1).next_page_token
        _refused(reader.event_page, {}, 1, token)

    def test_other_query_still_named(self, reader):
        """A signed token replayed with other filters says so."""
        token = reader.decision_page({"route": "junior"}, 1).next_page_token
        assert _refused(reader.decision_page, {"route": "senior"}, 1, token) == "belongs to another query"


class TestSignedButOutOfRange:
    """Even a token signed with the key has its position checked before it reaches SQL."""

    @pytest.mark.parametrize(
        "key", [[2**70], [-1], [True], ["7"], [1, 2]], ids=["2**70", "negative", "bool", "text", "two"]
    )
    def test_event_keys(self, reader, key):
        """A sequence outside 0..2**63-1, or not an integer, is refused."""
        token = queries._encode(key, _fingerprint("events"), KEY)
        _refused(reader.event_page, {}, 1, token)

    @pytest.mark.parametrize(
        "key",
        [
            ["2026-11-24T10:00:00", "d-01"],
            ["not a time", "d-01"],
            ["0001-01-01T00:00:00+05:00", "d-01"],
            ["2026-11-24T10:00:00+00:00", 7],
            ["2026-11-24T10:00:00+00:00", "d" * 65],
        ],
        ids=["naive", "garbage", "before-year-1", "int-id", "long-id"],
    )
    def test_decision_keys(self, reader, key):
        """A naive, unparsable or out-of-range time, or a bad id, is refused."""
        token = queries._encode(key, _fingerprint("decisions"), KEY)
        _refused(reader.decision_page, {}, 1, token)


class TestIntegerFilters:
    """Integer filters beyond the stored range are InvalidRequest on both backends."""

    @pytest.mark.parametrize("version", [2**31, 2**62, -1])
    def test_policy_version(self, reader, version):
        """policy_version outside 0..2**31-1 names the field, on decisions and events."""
        _refused(reader.decision_page, {"policy_version": version}, 1)
        _refused(reader.event_page, {"policy_version": version}, 1)

    def test_largest_version_is_a_query(self, reader):
        """2**31-1 is in range: an empty page, not an error."""
        assert reader.decision_page({"policy_version": 2**31 - 1}, 1).items == []
