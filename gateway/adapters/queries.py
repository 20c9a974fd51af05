"""The auditor's queries: filtered decision and event pages with stable, opaque page tokens.

Decisions come in ``(created_at, decision_id)`` order and events in ``seq`` order; both keys
are unique and never change once written, so keyset pagination is stable while new rows
arrive (a row created after a page was read sorts after it, or is skipped if it sorts before).

A page token is ``base64url(JSON) "." base64url(MAC)``: the JSON is ``{"k": last key, "q":
filter hash, "v": 2}`` and the MAC its HMAC-SHA256 (first 16 bytes) under the deployment's
page-token key. The filter hash (sha256 of the query kind and its canonical filters) binds the
token to the query that issued it: a token replayed with other filters is
``InvalidRequest("page_token", "belongs to another query")``. A token this key did not sign
(forged, edited, or issued by a gateway with another key, such as one restarted without a
configured key) is ``InvalidRequest`` before any query runs, and the key inside a signed token
is still checked (an aware time in range and an id; a sequence number within 64 bits). Tokens
are opaque to clients, not secret: they carry no data a caller could not read anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, and_, or_, select

from audit.record import Event, canonical_json, iso_utc
from audit.schema import EVENT_COLUMNS, audit_events
from gateway.adapters.rows import decision_from_row
from gateway.adapters.tables import decisions
from gateway.errors import InvalidRequest
from gateway.review.model import Action, Decision, Status

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "DecisionFilter",
    "EventFilter",
    "Page",
    "check_version",
    "decision_filter",
    "decision_page",
    "event_page",
    "page_size",
    "parse_action",
    "parse_status",
]

DEFAULT_PAGE_SIZE = 100
"""Rows per page when the caller does not say."""

MAX_PAGE_SIZE = 1000
"""Larger page sizes are lowered to this (AIP-158: coerce, do not fail)."""

T = TypeVar("T")
_D = decisions.c
_E = audit_events.c
_TOKEN_VERSION = 2
_MAC_BYTES = 16
_MAX_INT64 = 2**63 - 1
_MAX_INT32 = 2**31 - 1
_NOT_OURS = "is not a page token this gateway issued"
_OVERRIDING = (Action.EDIT.value, Action.OVERRIDE.value)


def _choice(value: str, field_name: str, allowed: tuple[str, ...], prefix: str) -> str | None:
    """Case-insensitive match of ``value`` (optionally with the proto enum prefix)."""
    if not value:
        return None
    name = value.strip().upper().removeprefix(prefix)
    if name not in allowed:
        raise InvalidRequest(field_name, f"{value!r} is not one of: {', '.join(a.lower() for a in allowed)}")
    return name


def parse_action(value: str) -> Action | None:
    """``approve``/``edit``/``override``/``reject`` (any case; ``REVIEW_ACTION_`` prefix ok)."""
    name = _choice(value, "action", tuple(a.value for a in Action), "REVIEW_ACTION_")
    return None if name is None else Action(name)


def parse_status(value: str) -> Status | None:
    """A decision status by name (any case; ``DECISION_STATUS_`` prefix ok)."""
    name = _choice(value, "status", tuple(s.value for s in Status), "DECISION_STATUS_")
    return None if name is None else Status(name)


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """Filters on the decision log; ``None`` (or 0 for the version) means any.

    ``overridden=True`` selects decisions a human changed: a sign-off with action EDIT or
    OVERRIDE, or an after-the-fact audit correction of an automatic decision (recorded only
    when the audit reviewer did not approve). ``False`` selects every other decision, pending
    ones included. REJECT alone is not an override: filter it with ``action``.
    """

    since: datetime | None = None
    until: datetime | None = None
    decision_type: str | None = None
    policy_name: str | None = None
    policy_version: int = 0
    route: str | None = None
    queue: str | None = None
    reviewer: str | None = None
    action: Action | None = None
    overridden: bool | None = None
    subject_ref: str | None = None
    status: Status | None = None
    decision_id: str | None = None

    def conditions(self) -> list[Any]:
        """The WHERE clauses, one per given filter; gold cases never match (no caller asked for them)."""
        c: list[Any] = [_D.gold_case_id.is_(None)]
        if self.since is not None:
            c.append(_D.created_at >= self.since)
        if self.until is not None:
            c.append(_D.created_at < self.until)
        for column, value in (
            (_D.decision_type, self.decision_type),
            (_D.policy_name, self.policy_name),
            (_D.route, self.route),
            (_D.queue, self.queue),
            (_D.reviewer, self.reviewer),
            (_D.subject_ref, self.subject_ref),
            (_D.decision_id, self.decision_id),
            (_D.action, None if self.action is None else self.action.value),
            (_D.status, None if self.status is None else self.status.value),
        ):
            if value is not None:
                c.append(column == value)
        if self.policy_version:
            c.append(_D.policy_version == self.policy_version)
        if self.overridden is not None:
            changed = or_(_D.action.in_(_OVERRIDING), _D.correction_json.is_not(None))
            c.append(
                changed
                if self.overridden
                else and_(
                    or_(_D.action.is_(None), _D.action.not_in(_OVERRIDING)),
                    _D.correction_json.is_(None),
                )
            )
        return c


def decision_filter(*, action: str | None = None, status: str | None = None, **rest: Any) -> DecisionFilter:
    """A ``DecisionFilter`` from plain values: ``action`` and ``status`` by name (validated)."""
    return DecisionFilter(action=parse_action(action or ""), status=parse_status(status or ""), **rest)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters on the event log; ``since`` is inclusive and ``until`` exclusive."""

    decision_id: str | None = None
    decision_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    types: tuple[str, ...] = field(default=())
    actor: str | None = None
    policy_name: str | None = None
    policy_version: int = 0

    def conditions(self) -> list[Any]:
        """The WHERE clauses, one per given filter."""
        c: list[Any] = []
        for column, value in (
            (_E.decision_id, self.decision_id),
            (_E.decision_type, self.decision_type),
            (_E.actor, self.actor),
            (_E.policy_name, self.policy_name),
        ):
            if value is not None:
                c.append(column == value)
        if self.since is not None:
            c.append(_E.time >= self.since)
        if self.until is not None:
            c.append(_E.time < self.until)
        if self.types:
            c.append(_E.type.in_(sorted(set(self.types))))
        if self.policy_version:
            c.append(_E.policy_version == self.policy_version)
        return c


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of rows and the token for the next ("" on the last page)."""

    items: list[T]
    next_page_token: str


def _fingerprint(kind: str, filters: DecisionFilter | EventFilter) -> str:
    plain = {k: (iso_utc(v) if isinstance(v, datetime) else v) for k, v in asdict(filters).items()}
    if "types" in plain:
        plain["types"] = sorted(set(plain["types"]))
    return hashlib.sha256(canonical_json({"kind": kind, "filters": plain}).encode()).hexdigest()[:32]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, raw: bytes) -> bytes:
    return hmac.new(key, raw, hashlib.sha256).digest()[:_MAC_BYTES]


def _encode(key: list[Any], fingerprint: str, secret: bytes) -> str:
    raw = canonical_json({"k": key, "q": fingerprint, "v": _TOKEN_VERSION}).encode()
    return f"{_b64(raw)}.{_b64(_mac(secret, raw))}"


def _decode(token: str, fingerprint: str, secret: bytes) -> list[Any]:
    body, _, mac = token.partition(".")
    try:
        raw, tag = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise InvalidRequest("page_token", _NOT_OURS) from None
    if not hmac.compare_digest(tag, _mac(secret, raw)):
        raise InvalidRequest("page_token", _NOT_OURS)
    try:
        doc = json.loads(raw)
        key, query, version = doc["k"], doc["q"], doc["v"]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidRequest("page_token", _NOT_OURS) from None
    if version != _TOKEN_VERSION or not isinstance(key, list):
        raise InvalidRequest("page_token", _NOT_OURS)
    if query != fingerprint:
        raise InvalidRequest("page_token", "belongs to another query")
    return key


def _decision_key(key: list[Any]) -> tuple[datetime, str]:
    """The (created_at, decision_id) a decision token resumes after, checked."""
    if len(key) != 2 or not isinstance(key[0], str) or not isinstance(key[1], str) or len(key[1]) > 64:
        raise InvalidRequest("page_token", _NOT_OURS)
    try:
        after = datetime.fromisoformat(key[0])
    except ValueError:
        raise InvalidRequest("page_token", _NOT_OURS) from None
    if after.tzinfo is None or after.utcoffset() is None:
        raise InvalidRequest("page_token", _NOT_OURS)
    try:
        return after.astimezone(UTC), key[1]
    except (OverflowError, ValueError):
        raise InvalidRequest("page_token", _NOT_OURS) from None


def _event_key(key: list[Any]) -> int:
    """The sequence number an event token resumes after, checked."""
    if len(key) != 1 or not isinstance(key[0], int) or isinstance(key[0], bool) or not 0 <= key[0] <= _MAX_INT64:
        raise InvalidRequest("page_token", _NOT_OURS)
    return key[0]


def check_version(value: int) -> int:
    """A policy version filter: 0 (any) up to the largest stored version, on both backends."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT32:
        raise InvalidRequest("policy_version", f"must be between 0 and {_MAX_INT32}")
    return value


def page_size(requested: int) -> int:
    """The page size to use: the default for 0, at most ``MAX_PAGE_SIZE``; negative is refused."""
    if requested < 0:
        raise InvalidRequest("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def decision_page(
    conn: Connection, filters: DecisionFilter, size: int, token: str = "", *, secret: bytes
) -> Page[Decision]:
    """One page of decisions matching ``filters``, oldest first, after ``token``'s position;
    ``secret`` signs the next token and checks ``token``."""
    check_version(filters.policy_version)
    fingerprint = _fingerprint("decisions", filters)
    stmt = select(decisions).where(*filters.conditions())
    if token:
        after_time, after_id = _decision_key(_decode(token, fingerprint, secret))
        # The redundant ``>=`` gives the planner an index range; the OR breaks ties by id.
        stmt = stmt.where(
            _D.created_at >= after_time,
            or_(_D.created_at > after_time, _D.decision_id > after_id),
        )
    rows = conn.execute(stmt.order_by(_D.created_at, _D.decision_id).limit(size + 1)).all()
    items = [decision_from_row(r) for r in rows[:size]]
    nxt = ""
    if len(rows) > size:
        last = items[-1]
        nxt = _encode([iso_utc(last.created_at), last.decision_id], fingerprint, secret)
    return Page(items, nxt)


def event_page(conn: Connection, filters: EventFilter, size: int, token: str = "", *, secret: bytes) -> Page[Event]:
    """One page of events matching ``filters`` in sequence order, after ``token``'s position;
    ``secret`` signs the next token and checks ``token``."""
    check_version(filters.policy_version)
    fingerprint = _fingerprint("events", filters)
    stmt = select(*EVENT_COLUMNS).where(*filters.conditions())
    if token:
        stmt = stmt.where(_E.seq > _event_key(_decode(token, fingerprint, secret)))
    rows = conn.execute(stmt.order_by(_E.seq).limit(size + 1)).all()
    items = [Event(*r) for r in rows[:size]]
    nxt = _encode([items[-1].seq], fingerprint, secret) if len(rows) > size else ""
    return Page(items, nxt)
