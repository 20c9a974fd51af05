"""The auditor's read side: events, decision pages, one decision's trail, chain verification.

Every read runs on its own pooled connection; a database that cannot answer becomes
``StoreUnavailable`` (gRPC ``UNAVAILABLE``), never a driver error.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.record import Event
from audit.reviewers import FlagRules, ReviewerStats, flag_rules_text, reviewer_stats, reviews_from_events
from audit.schema import audit_events
from audit.stats import GroupStats, override_stats
from audit.store import AuditLog
from audit.verify import VerifyReport
from gateway.adapters.personal import KeyRing
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
from gateway.review.personal import opened_now

__all__ = ["SqlAuditReader", "TrailLoader"]

TrailLoader = Callable[[Connection, str], "dict[str, Any] | None"]
"""``load_trail(conn, decision_id) -> dict | None``: one decision's story (``gateway.reports``)."""

_E = audit_events.c


def _unavailable(exc: SQLAlchemyError) -> StoreUnavailable:
    return StoreUnavailable(f"cannot read the audit log: {type(exc).__name__}")


class SqlAuditReader:
    """Reads the audit log and the decision log through the ``audit`` library and SQL."""

    def __init__(
        self, engine: Engine, load_trail: TrailLoader | None = None, *, token_key: bytes | None = None
    ) -> None:
        """``token_key`` signs page tokens (``queries``); without one a random key is made
        here, so this reader's tokens do not survive it (or work on another replica)."""
        self.engine = engine
        self.log = AuditLog()
        self._load_trail = load_trail
        self._secret = token_key if token_key is not None else secrets.token_bytes(32)

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
                return event_page(conn, query, n, token, secret=self._secret)
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
                page = decision_page(conn, query, n, token, secret=self._secret)
                ring = KeyRing(conn)  # sealed personal fields shown opened, or erased
                return dataclasses.replace(page, items=[opened_now(ring, d) for d in page.items])
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def trail(self, decision_id: str) -> dict[str, Any]:
        """The decision's whole trail, read by the injected loader; ``NotFound`` if unknown."""
        if self._load_trail is None:
            raise PreconditionFailed("this gateway was built without a trail loader")
        try:
            with self.engine.connect() as conn:
                trail = self._load_trail(conn, decision_id)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None
        if trail is None:
            raise NotFound(f"no decision {decision_id} in the audit log")
        return trail

    def verify(self) -> VerifyReport:
        """Recompute the whole chain."""
        try:
            return self.log.verify(self.engine)
        except SQLAlchemyError as exc:
            raise _unavailable(exc) from None

    def reviewer_stats(
        self,
        *,
        by_queue: bool = False,
        decision_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[ReviewerStats]:
        """Evidence of reviewer engagement from ``review_claimed`` and ``review_submitted`` events."""
        events = self.events(
            types=["review_claimed", "review_submitted"], decision_type=decision_type, since=since, until=until
        )
        return reviewer_stats(reviews_from_events(events), by_queue=by_queue)

    def flag_rules(self) -> dict[str, str]:
        """Each rubber-stamp flag ``reviewer_stats`` raises, and its rule in words."""
        return flag_rules_text(FlagRules())

    def override_stats(
        self,
        group_by: Sequence[str],
        *,
        decision_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[GroupStats]:
        """Sign-off counts and override rates from ``review_submitted`` events."""
        events = self.events(types=["review_submitted"], decision_type=decision_type, since=since, until=until)
        return override_stats(events, list(group_by))
