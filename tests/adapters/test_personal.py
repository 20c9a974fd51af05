"""The embedded key store (``gateway.adapters.personal``) on a real database, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select

from gateway.adapters.personal import KeyRing, SqlPersonalData, shown_input, subject_key_values
from gateway.adapters.tables import subject_keys
from gateway.errors import NotFound, PreconditionFailed
from gateway.review.personal import ERASED, ERASED_TEXT, SEALED_TEXT, is_sealed


class _Keys(SqlPersonalData):
    """The key store, with each new key stored at once (the gateway stores it with its Change)."""

    def seal_stored(self, subject_ref: str, values: dict) -> dict:  # type: ignore[type-arg]
        sealed = self.seal(subject_ref, values)
        if sealed.new_key is not None:
            with self.engine.begin() as conn:
                conn.execute(insert(subject_keys).values(subject_key_values(sealed.new_key)))
        return sealed.values


def _keys(engine: Engine) -> _Keys:
    return _Keys(engine, lambda: datetime(2026, 12, 3, tzinfo=UTC))


class TestSealAndOpen:
    def test_sealing_writes_nothing(self, engine: Engine) -> None:
        """A first seal makes a key in memory only: the use case's Change stores it with the data."""
        keys = _keys(engine)
        sealed = keys.seal("s0", {"name": "Ada"})
        assert sealed.new_key is not None and sealed.records == (sealed.new_key,)
        with engine.connect() as conn:
            assert conn.execute(select(subject_keys)).all() == []
        assert keys.open("s0", sealed.values) == {"name": dict(ERASED)}  # unstored key: cannot open

    def test_round_trip_at_any_depth(self, engine: Engine) -> None:
        """Sealed values open to what was sealed, inside nested mappings and lists too."""
        keys = _keys(engine)
        sealed = keys.seal_stored("s1", {"name": "Ada", "born": {"y": 1815}})
        assert all(is_sealed(v) for v in sealed.values()) and "Ada" not in str(sealed)
        shown = keys.open("s1", {"input": sealed, "list": [{"name": sealed["name"]}], "plain": 3})
        assert shown == {"input": {"name": "Ada", "born": {"y": 1815}}, "list": [{"name": "Ada"}], "plain": 3}

    def test_a_key_per_sealing_all_under_the_subject(self, engine: Engine) -> None:
        """Each sealing has its own key, filed under the subject; erasing the subject destroys all."""
        keys = _keys(engine)
        a1, a2, b = keys.seal_stored("a", {"x": 1}), keys.seal_stored("a", {"x": 2}), keys.seal_stored("b", {"x": 3})
        assert len({a1["x"]["kid"], a2["x"]["kid"], b["x"]["kid"]}) == 3
        assert keys.erase("a", "Art. 17") == 2
        assert keys.open("a", {"p": a1["x"], "q": a2["x"]}) == {"p": dict(ERASED), "q": dict(ERASED)}
        assert keys.open("b", b) == {"x": 3}

    def test_an_envelope_moved_to_another_subject_or_field_does_not_open(self, engine: Engine) -> None:
        """The associated data binds subject and field: a moved envelope reads as unreadable, not a value."""
        keys = _keys(engine)
        env = keys.seal_stored("a", {"name": "Ada"})["name"]
        keys.seal_stored("b", {"name": "Bob"})
        assert keys.open("b", {"name": env}) == {"name": {"$unreadable": True}}
        assert keys.open("a", {"alias": env}) == {"alias": {"$unreadable": True}}

    def test_tampered_ciphertext_is_unreadable(self, engine: Engine) -> None:
        """A flipped ciphertext byte fails the GCM tag."""
        keys = _keys(engine)
        env = dict(keys.seal_stored("a", {"name": "Ada"})["name"])
        raw = bytearray(base64.b64decode(env["c"]))
        raw[0] ^= 1
        env["c"] = base64.b64encode(bytes(raw)).decode()
        assert keys.open("a", {"name": env}) == {"name": {"$unreadable": True}}

    def test_sealed_text_round_trip(self, engine: Engine) -> None:
        """A free-text field sealed as text opens under its field name, and reads [erased] after erasure."""
        import json

        keys = _keys(engine)
        text = SEALED_TEXT + json.dumps(keys.seal_stored("a", {"reason": "Ada phoned"})["reason"])
        assert keys.open("a", {"reason": text}) == {"reason": "Ada phoned"}
        keys.erase("a", "Art. 17")
        assert keys.open("a", {"reason": text}) == {"reason": ERASED_TEXT}


class TestErase:
    def test_erase_destroys_every_key_and_keeps_the_rows(self, engine: Engine) -> None:
        """Erasure nulls each key (its row stays, with when and why); envelopes then read as erased."""
        keys = _keys(engine)
        env = keys.seal_stored("a", {"name": "Ada"})
        assert keys.erase("a", "Art. 17 request") == 1
        assert keys.open("a", env) == {"name": dict(ERASED)}
        with engine.connect() as conn:
            row = conn.execute(select(subject_keys).where(subject_keys.c.subject_ref == "a")).one()
        assert row.key is None and row.erase_reason == "Art. 17 request" and row.erased_at is not None
        assert keys.erase("a", "again") == 0  # nothing live any more

    def test_unknown_subject_is_not_found(self, engine: Engine) -> None:
        with pytest.raises(NotFound, match="nobody"):
            _keys(engine).erase("nobody", "x")

    def test_hold_refuses_erasure_until_released(self, engine: Engine) -> None:
        """Under hold erase raises PreconditionFailed naming the hold; released, it erases."""
        keys = _keys(engine)
        env = keys.seal_stored("a", {"name": "Ada"})
        keys.hold("a", "litigation 2026-117", "carol")
        with pytest.raises(PreconditionFailed, match="litigation 2026-117"):
            keys.erase("a", "Art. 17")
        assert keys.open("a", env) == {"name": "Ada"}  # the key survived the refusal
        with pytest.raises(PreconditionFailed, match="already"):
            keys.hold("a", "twice", "carol")
        keys.release("a")
        with pytest.raises(NotFound):
            keys.release("a")
        assert keys.erase("a", "Art. 17") == 1

    def test_a_new_key_after_erasure(self, engine: Engine) -> None:
        """Data sealed after an erasure is under a new key; the old envelopes stay erased."""
        keys = _keys(engine)
        old = keys.seal_stored("a", {"name": "Ada"})
        keys.erase("a", "Art. 17")
        new = keys.seal_stored("a", {"name": "Ada again"})
        assert new["name"]["kid"] != old["name"]["kid"]
        assert keys.open("a", new) == {"name": "Ada again"} and keys.open("a", old) == {"name": dict(ERASED)}


class TestShownInput:
    def test_erased_fields_are_dropped_and_named(self, engine: Engine) -> None:
        """For exports and replay: an erased field is absent (never a placeholder value) and named."""
        import json

        keys = _keys(engine)
        stored = json.dumps({"amount": 5, **keys.seal_stored("a", {"name": "Ada"})})
        with engine.connect() as conn:
            assert shown_input(KeyRing(conn), "a", stored) == ({"amount": 5, "name": "Ada"}, [])
        keys.erase("a", "Art. 17")
        with engine.connect() as conn:
            assert shown_input(KeyRing(conn), "a", stored) == ({"amount": 5}, ["name"])
