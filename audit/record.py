"""The audit log's value types and its one canonical JSON form, so every writer hashes alike.

Pure: stdlib only.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from json.encoder import (  # type: ignore[attr-defined]  # c_make_encoder: CPython's _json accelerator
    c_make_encoder,
    encode_basestring,
)
from typing import Any

__all__ = [
    "GENESIS",
    "Event",
    "NewEvent",
    "PolicyRecord",
    "canonical_json",
    "canonical_object",
    "hashed_time",
    "iso_utc",
    "to_utc",
]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first event: the chain hangs from a hash of nothing."""


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; naive datetimes are refused, since their instant is unknown."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; use UTC")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """Render an aware datetime as ISO-8601 UTC with microseconds and ``Z`` (one form only)."""
    if value.tzinfo is not UTC:  # stored rows are already UTC: skip the conversion (hot path)
        value = to_utc(value)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def hashed_time(value: datetime) -> str:
    """The text of a time that event hashes cover: UTC ``YYYY-MM-DD HH:MM:SS.ffffff``.

    Exactly what ``UtcDateTime`` stores on SQLite (fixed width, so text order is time order),
    and what PostgreSQL renders with ``to_char``: a verifier hashes the column as it reads it.
    """
    if value.tzinfo is not UTC:
        value = to_utc(value)
    return value.isoformat(" ", "microseconds")[:26]


def _default(obj: object) -> Any:
    if isinstance(obj, datetime):
        return iso_utc(obj)
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, AbstractSet):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    default=_default,
)


_C_ARGS = (
    _ENCODER.default,
    encode_basestring,
    None,
    _ENCODER.key_separator,
    _ENCODER.item_separator,
    _ENCODER.sort_keys,
    _ENCODER.skipkeys,
    _ENCODER.allow_nan,
)
"""``_ENCODER``'s settings as its C encoder takes them (what ``JSONEncoder.iterencode`` passes)."""


_C_ENCODER = None if c_make_encoder is None else c_make_encoder(None, *_C_ARGS)
"""``_ENCODER``'s C encoder, built once. Without a markers dict it skips the circular-reference
check (``check_circular=False``): building the encoder per call cost more than most bodies'
encoding, and a cycle still fails, as ``RecursionError``, turned into ``ValueError`` here. It
keeps no state between calls, so one instance serves every thread."""


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj``: sorted keys, no spaces, UTF-8 as is, no NaN.

    Datetimes become ISO-8601 UTC with microseconds and ``Z``; mappings, enums, sets and
    tuples become plain JSON, so equal values always give equal text and equal hashes.
    Every audit event body passes here, so it calls the C encoder ``_ENCODER.encode`` would
    build directly, without the Python layers around it: the same text.
    """
    if _C_ENCODER is None:  # pragma: no cover - Pythons without the _json accelerator
        return _ENCODER.encode(obj)
    try:
        return "".join(_C_ENCODER(obj, 0))
    except RecursionError:
        raise ValueError("Circular reference detected (or nesting too deep for JSON)") from None


_NONCE = os.urandom(12).hex()
"""Per process: the placeholders ``canonical_object`` splices out cannot be guessed by a caller."""


def canonical_object(body: Mapping[str, Any], raw: Mapping[str, str]) -> str:
    """``canonical_json`` of ``body`` with ``raw``'s keys taken as JSON text made already.

    The same text ``canonical_json({**body, **parsed raw})`` gives, without encoding a large
    value twice: a Decide's input is serialised once and reused in its digest and its event.
    Each ``raw`` value must itself be canonical JSON. One encoding: each raw key holds an
    unguessable placeholder string, which is then replaced by its text; a placeholder found
    other than exactly once (it cannot be, short of guessing the nonce) takes the slow way.
    """
    if not raw:
        return canonical_json(body)
    marks = {k: f"\x00{_NONCE}{i}\x00" for i, k in enumerate(raw)}
    text = canonical_json({**body, **marks})
    for k, mark in marks.items():
        quoted = canonical_json(mark)
        if text.count(quoted) != 1:  # pragma: no cover - only a guessed nonce gets here
            return _canonical_object_slow(body, raw)
        text = text.replace(quoted, raw[k], 1)
    return text


def _canonical_object_slow(body: Mapping[str, Any], raw: Mapping[str, str]) -> str:
    keys = sorted({*body, *raw})
    parts = [canonical_json(k) + ":" + (raw[k] if k in raw else canonical_json(body[k])) for k in keys]
    return "{" + ",".join(parts) + "}"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event as a writer hands it to the log, before it has a place in the chain."""

    type: str
    time: datetime
    actor: str
    decision_id: str = ""
    policy_name: str = ""
    policy_version: int = 0
    policy_digest: str = ""
    body: Mapping[str, Any] = field(default_factory=dict)
    decision_type: str = ""
    body_json: str = ""
    """``canonical_json(body)``, when the writer made it already (say on its request thread,
    off a single writer thread's critical path); empty: the chain serialises ``body`` itself.
    The log stores and hashes this text as given, so it must be exactly that canonical form."""


@dataclass(frozen=True, slots=True)
class Event:
    """A chained event as stored: ``hash`` covers every other column and ``prev_hash``."""

    seq: int
    time: datetime
    type: str
    decision_id: str
    actor: str
    policy_name: str
    policy_version: int
    policy_digest: str
    body_json: str
    prev_hash: str
    hash: str
    decision_type: str = ""

    @property
    def body(self) -> dict[str, Any]:
        """The event body parsed from its stored canonical JSON."""
        parsed: dict[str, Any] = json.loads(self.body_json)
        return parsed

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping of every column, with the body parsed."""
        return {
            "seq": self.seq,
            "time": iso_utc(self.time),
            "type": self.type,
            "decision_id": self.decision_id,
            "decision_type": self.decision_type,
            "actor": self.actor,
            "policy_name": self.policy_name,
            "policy_version": self.policy_version,
            "policy_digest": self.policy_digest,
            "body": self.body,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """One policy version's full text, stored once so an auditor can read what decided."""

    name: str
    version: int
    digest: str
    decision_type: str
    text: str
    loaded_at: datetime
