"""The auditor's read side: events, decision pages, one decision's trail, chain verification.

Every read runs on its own pooled connection; a database that cannot answer becomes
``StoreUnavailable`` (gRPC ``UNAVAILABLE``), never a driver error.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import SQLAlchemyError

from audit.chain import event_hash
from audit.record import GENESIS, Event
from audit.schema import audit_events
from audit.stats import GroupStats, override_stats
from audit.store import AuditLog
from audit.verify import VerifyReport
from gateway.adapters.queries import (
    EventFilter,
    Page,
    decision_filter,
    decision_page,
    event_page,
    page_size,
)
from gateway.errors import NotFound, PreconditionFailed, StoreUnavailable
from gateway.review.model import Decision

__all__ = ["SqlAuditReader", "TrailBuilder", "events_verify"]

TrailBuilder = Callable[[list[Event], "str | None", "bool | None"], dict[str, Any]]
"""``build_trail(events, policy_text, verify_ok) -> dict``: the pure trail renderer."""

_E = audit_events.c
_POLICY_EVENTS = ("routed", "decision_received")


def _unavailable(exc: SQLAlchemyError) -> StoreUnavailable:
    return StoreUnavailable(f"cannot read the audit log: {type(exc).__name__}")


def _default_trail_builder() -> TrailBuilder:
    """``gateway.reports.trail.build_trail``, found at call time.

    The composition root should pass ``build_trail`` to ``SqlAuditReader``; this fallback
    keeps the adapter from importing the reporting package at import time.
    """
    try:
        module = importlib.import_module("gateway.reports.trail")
    except ModuleNotFoundError:
        raise PreconditionFailed("the decision trail builder (gateway.reports.trail) is not installed") from None
    builder: TrailBuilder = module.build_trail
    return builder


def events_verify(conn: Connection, events: Sequence[Event]) -> bool:
    """Check a few events in place: each hash recomputes, and each links to its neighbours.

    A full chain verification reads every row; this reads only the events' neighbours
    (``seq - 1`` and ``seq + 1``), enough to show that these events are unaltered and still
    sit where they were chained: the previous row's hash is their ``prev_hash``, and the next
    row (if any) names their hash as its ``prev_hash``.
    """
    if not events:
        return True
    around = {s for e in events for s in (e.seq - 1, e.seq + 1)}
    rows = conn.execute(
        select(_E.seq, _E.hash, _E.prev_hash).where(_E.seq.in_(sorted(around)))
    ).all()
    neighbours = {int(r.seq): (str(r.hash), str(r.prev_hash)) for r in rows}
    head = conn.execute(select(_E.seq).order_by(_E.seq.desc()).limit(1)).scalar_one()
    for e in events:
        if event_hash(e) != e.hash:
            return False
        before = GENESIS if e.seq == 1 else neighbours.get(e.seq - 1, ("", ""))[0]
        if e.prev_hash != before:
            return False
        if e.seq < head and neighbours.get(e.seq + 1, ("", ""))[1] != e.hash:
            return False
    return True


class SqlAuditReader:
    """Reads the audit log and the decision log through the ``audit`` library and SQL."""

    def __init__(self, engine: Engine, build_trail: TrailBuilder | None = None) -> None:
        self.engine = engine
        self.log = AuditLog()
        self._build_trail = build_trail

    def events(self, **filters: Any) -> Iterator[Event]:
        """Stream events matching the filters, in sequence order."""
        try:
            with self.engine.connect() as conn:
                yield from self.log.iter_events(conn, **filters)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def event_page(self, filters: dict[str, Any], size: int = 0, token: str = "") -> Page[Event]:
        """One page of events (see ``gateway.adapters.queries``); ``size`` 0 is the default."""
        query = EventFilter(**filters)
        n = page_size(size)
        try:
            with self.engine.connect() as conn:
                return event_page(conn, query, n, token)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def decision_page(self, filters: dict[str, Any], size: int = 0, token: str = "") -> Page[Decision]:
        """One page of decisions (see ``gateway.adapters.queries``); ``size`` 0 is the default.

        ``filters`` are ``DecisionFilter`` fields, with ``action`` and ``status`` given by name.
        """
        query = decision_filter(**filters)
        n = page_size(size)
        try:
            with self.engine.connect() as conn:
                return decision_page(conn, query, n, token)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def trail_parts(self, decision_id: str) -> tuple[list[Event], str | None, bool]:
        """A decision's events, the text of the policy version that routed it, and whether
        those events verify in place. ``NotFound`` when the log has no event for it."""
        try:
            with self.engine.connect() as conn:
                events = list(self.log.iter_events(conn, decision_id=decision_id))
                if not events:
                    raise NotFound(f"no decision {decision_id} in the audit log")
                ref = next((e for e in events if e.type in _POLICY_EVENTS and e.policy_name), None)
                ref = ref or next((e for e in events if e.policy_name), None)
                stored = None if ref is None else self.log.get_policy(conn, ref.policy_name, ref.policy_version)
                ok = events_verify(conn, events)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        return events, None if stored is None else stored.text, ok

    def trail(self, decision_id: str) -> dict[str, Any]:
        """The decision's whole trail, as ``build_trail`` tells it."""
        events, policy_text, ok = self.trail_parts(decision_id)
        build = self._build_trail or _default_trail_builder()
        return build(events, policy_text, ok)

    def verify(self) -> VerifyReport:
        """Recompute the whole chain."""
        try:
            return self.log.verify(self.engine)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def override_stats(
        self,
        group_by: Sequence[str],
        *,
        decision_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[GroupStats]:
        """Sign-off counts and override rates from ``review_submitted`` events."""
        events = self.events(
            types=["review_submitted"], decision_type=decision_type, since=since, until=until
        )
        return override_stats(events, list(group_by))
