"""The documented limits every request meets at the edge, before it is converted, digested or stored.

One table names, for every field of every request message, what it may hold: a string's
length (and never a NUL, which PostgreSQL cannot store), a map's or a repeated field's count,
a Struct's size and nesting depth with finite numbers all the way down, a duration's range,
an integer's range. ``check_request`` walks a decoded request through its row and raises
``InvalidRequest`` naming the first offending field; the message never echoes the value.
``tests/gateway/test_limits.py`` fails when a request field has no row, so a new field
cannot arrive unchecked. The README's error table lists the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.message import Message

from gateway.errors import InvalidRequest
from gateway.review.service import MAX_LEASE
from signoff.v1 import audit_pb2, decision_pb2, policy_pb2, review_pb2

__all__ = [
    "LIMITS",
    "MAX_ID",
    "MAX_INT32",
    "MAX_LIST",
    "MAX_MODEL",
    "MAX_MODEL_VERSION",
    "MAX_NAME",
    "MAX_SCORES",
    "MAX_STRUCT_BYTES",
    "MAX_STRUCT_DEPTH",
    "MAX_STRUCT_KEY",
    "MAX_TEXT",
    "MAX_TOKEN",
    "MAX_WAIT",
    "check_request",
]

MAX_ID = 200
"""request_id, decision_id, task_id, subject_ref (characters)."""
MAX_NAME = 128
"""decision_type, queue, outcome, route, policy names, score labels, event types (characters)."""
MAX_PRINCIPAL = 256
"""actor and reviewer filters: a principal's name (characters)."""
MAX_MODEL = 256
"""proposal.model (characters)."""
MAX_MODEL_VERSION = 128
"""proposal.model_version (characters)."""
MAX_TEXT = 16 * 1024
"""proposal.explanation and a sign-off's or release's reason (characters)."""
MAX_TOKEN = 1024
"""page_token (characters); the gateway's own tokens are far shorter."""
MAX_SCORES = 64
"""Score labels in one proposal."""
MAX_LIST = 64
"""Entries of a repeated filter (event types, group_by)."""
MAX_STRUCT_BYTES = 256 * 1024
"""Encoded size of ``input`` and of a sign-off's ``payload``."""
MAX_STRUCT_DEPTH = 32
"""Nesting of objects and lists inside a Struct (the top level is 1)."""
MAX_STRUCT_KEY = 256
"""Characters of one key inside a Struct."""
MAX_WAIT = timedelta(minutes=10)
"""Decide's ``wait``; longer waits belong to WatchDecision."""
MAX_INT32 = 2**31 - 1
"""Policy versions (stored as 32-bit integers on both backends)."""
MAX_INT64 = 2**63 - 1


Check = Callable[[Any, str], None]


def _text(limit: int) -> Check:
    def check(value: str, path: str) -> None:
        if len(value) > limit:
            raise InvalidRequest(path, f"longer than {limit} characters")
        if "\x00" in value:
            raise InvalidRequest(path, "must not contain a NUL character")

    return check


def _texts(limit: int, count: int) -> Check:
    one = _text(limit)

    def check(values: Any, path: str) -> None:
        if len(values) > count:
            raise InvalidRequest(path, f"more than {count} entries")
        for i, v in enumerate(values):
            one(v, f"{path}[{i}]")

    return check


def _finite(value: float, path: str) -> None:
    if not math.isfinite(value):
        raise InvalidRequest(path, "must be a finite number")


def _scores(values: Mapping[str, float], path: str) -> None:
    if len(values) > MAX_SCORES:
        raise InvalidRequest(path, f"more than {MAX_SCORES} labels")
    for key, score in values.items():
        _LABEL(key, f"{path} label")
        if not math.isfinite(score):
            raise InvalidRequest(f"{path}[{_short(key)}]", "must be a finite number")


_LABEL = _text(MAX_NAME)


def _integer(low: int, high: int) -> Check:
    def check(value: int, path: str) -> None:
        if value < low or value > high:
            raise InvalidRequest(path, f"must be between {low} and {high}")

    return check


def _any(value: Any, path: str) -> None:
    """Fields whose whole range is valid (booleans, enums checked by the use case)."""


def _duration(maximum: timedelta) -> Check:
    top = int(maximum.total_seconds())

    def check(d: Any, path: str) -> None:
        if d.seconds < 0 or d.nanos < 0:
            raise InvalidRequest(path, "must not be negative")
        if d.nanos > 999_999_999:
            raise InvalidRequest(path, "nanos must be below 1000000000")
        if d.seconds > top or (d.seconds == top and d.nanos):
            raise InvalidRequest(path, f"must be at most {maximum}")

    return check


# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range of a protobuf Timestamp.
_MIN_SECONDS, _MAX_SECONDS = -62_135_596_800, 253_402_300_799


def _timestamp(ts: Any, path: str) -> None:
    if not _MIN_SECONDS <= ts.seconds <= _MAX_SECONDS or not 0 <= ts.nanos <= 999_999_999:
        raise InvalidRequest(path, "not a valid timestamp (years 1 to 9999)")


def _short(key: str) -> str:
    return key if len(key) <= 40 else key[:39] + "…"


def _value(v: struct_pb2.Value, path: str, depth: int) -> None:
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(v.number_value):
            raise InvalidRequest(path, "must be a finite number")
    elif kind == "struct_value":
        _fields(v.struct_value, path, depth + 1)
    elif kind == "list_value":
        if depth + 1 > MAX_STRUCT_DEPTH:
            raise InvalidRequest(path, f"nested deeper than {MAX_STRUCT_DEPTH} levels")
        for i, item in enumerate(v.list_value.values):
            _value(item, f"{path}[{i}]", depth + 1)


def _fields(s: struct_pb2.Struct, path: str, depth: int) -> None:
    if depth > MAX_STRUCT_DEPTH:
        raise InvalidRequest(path, f"nested deeper than {MAX_STRUCT_DEPTH} levels")
    for key, v in s.fields.items():
        if len(key) > MAX_STRUCT_KEY:
            raise InvalidRequest(path, f"has a key longer than {MAX_STRUCT_KEY} characters")
        _value(v, f"{path}.{_short(key)}", depth)


def _struct(s: struct_pb2.Struct, path: str) -> None:
    if s.ByteSize() > MAX_STRUCT_BYTES:
        raise InvalidRequest(path, f"larger than {MAX_STRUCT_BYTES} bytes")
    _fields(s, path, 1)


@dataclass(frozen=True, slots=True)
class _Nested:
    """A message field checked through its own row (only when set)."""

    message: type[Message]

    def __call__(self, value: Message, path: str) -> None:
        _check(value, path + ".")


_ID, _NAMEC, _TEXTC = _text(MAX_ID), _text(MAX_NAME), _text(MAX_TEXT)
_PRINCIPAL, _TOKENC = _text(MAX_PRINCIPAL), _text(MAX_TOKEN)
_VERSION = _integer(0, MAX_INT32)
_COUNT64 = _integer(0, MAX_INT64)
_PAGE = _integer(0, MAX_INT32)
_TYPES = _texts(MAX_NAME, MAX_LIST)

LIMITS: dict[type[Message], dict[str, Check]] = {
    decision_pb2.DecideRequest: {
        "request_id": _ID,
        "decision_type": _NAMEC,
        "subject_ref": _ID,
        "input": _struct,
        "proposal": _Nested(decision_pb2.Proposal),
        "wait": _duration(MAX_WAIT),
    },
    decision_pb2.Proposal: {
        "outcome": _NAMEC,
        "confidence": _finite,
        "scores": _scores,
        "model": _text(MAX_MODEL),
        "model_version": _text(MAX_MODEL_VERSION),
        "explanation": _TEXTC,
    },
    decision_pb2.GetDecisionRequest: {"decision_id": _ID},
    decision_pb2.ContestDecisionRequest: {"decision_id": _ID, "statement": _TEXTC},
    decision_pb2.WatchDecisionRequest: {"decision_id": _ID},
    review_pb2.ListTasksRequest: {"queue": _NAMEC, "page_size": _any},
    review_pb2.ClaimNextRequest: {"queue": _NAMEC, "lease": _duration(MAX_LEASE)},
    review_pb2.SubmitRequest: {
        "task_id": _ID,
        "action": _any,
        "outcome": _NAMEC,
        "payload": _struct,
        "reason": _TEXTC,
    },
    review_pb2.ReleaseRequest: {"task_id": _ID, "reason": _TEXTC},
    review_pb2.RenewLeaseRequest: {"task_id": _ID, "lease": _duration(MAX_LEASE)},
    review_pb2.ReopenDecisionRequest: {"decision_id": _ID, "reason": _TEXTC},
    review_pb2.RecordInitialOutcomeRequest: {"task_id": _ID, "outcome": _NAMEC},
    audit_pb2.QueryEventsRequest: {
        "decision_id": _ID,
        "decision_type": _NAMEC,
        "since": _timestamp,
        "until": _timestamp,
        "types": _TYPES,
        "after_seq": _COUNT64,
        "limit": _COUNT64,
    },
    audit_pb2.ListEventsRequest: {
        "decision_id": _ID,
        "decision_type": _NAMEC,
        "since": _timestamp,
        "until": _timestamp,
        "types": _TYPES,
        "actor": _PRINCIPAL,
        "policy_name": _NAMEC,
        "policy_version": _VERSION,
        "page_size": _any,
        "page_token": _TOKENC,
    },
    audit_pb2.QueryDecisionsRequest: {
        "since": _timestamp,
        "until": _timestamp,
        "decision_type": _NAMEC,
        "policy_name": _NAMEC,
        "policy_version": _VERSION,
        "route": _NAMEC,
        "queue": _NAMEC,
        "reviewer": _PRINCIPAL,
        "action": _NAMEC,
        "overridden": _any,
        "subject_ref": _ID,
        "status": _NAMEC,
        "decision_id": _ID,
        "page_size": _any,
        "page_token": _TOKENC,
    },
    audit_pb2.ExplainDecisionRequest: {"decision_id": _ID},
    audit_pb2.VerifyChainRequest: {},
    audit_pb2.OverrideStatsRequest: {
        "group_by": _texts(MAX_NAME, MAX_LIST),
        "decision_type": _NAMEC,
        "since": _timestamp,
        "until": _timestamp,
    },
    audit_pb2.ReviewerStatsRequest: {
        "decision_type": _NAMEC,
        "since": _timestamp,
        "until": _timestamp,
        "by_queue": _any,
    },
    policy_pb2.ListPoliciesRequest: {},
    policy_pb2.GetPolicyRequest: {"name": _NAMEC, "version": _VERSION},
}
"""Request message -> field -> its check. Page sizes are coerced or refused by the reads."""

_MESSAGE_FIELDS = {
    cls: frozenset(f.name for f in cls.DESCRIPTOR.fields if f.message_type is not None and not f.is_repeated)
    for cls in LIMITS
}


def _check(msg: Message, prefix: str) -> None:
    row = LIMITS[type(msg)]
    messages = _MESSAGE_FIELDS[type(msg)]
    for name, check in row.items():
        if name in messages and not msg.HasField(name):
            continue
        check(getattr(msg, name), prefix + name)


def check_request(msg: Message) -> None:
    """Refuse ``msg`` with ``InvalidRequest`` naming its first field beyond a documented limit."""
    if type(msg) in LIMITS:
        _check(msg, "")
