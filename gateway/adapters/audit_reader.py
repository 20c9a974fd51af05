"""The auditor's read side: events, chain verification and override statistics from SQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.record import Event
from audit.stats import GroupStats, override_stats
from audit.store import AuditLog
from audit.verify import VerifyReport
from gateway.errors import StoreUnavailable

__all__ = ["SqlAuditReader"]


class SqlAuditReader:
    """Reads the audit log through the ``audit`` library on its own connections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.log = AuditLog()

    def events(self, **filters: Any) -> Iterator[Event]:
        """Stream events matching the filters, in sequence order."""
        try:
            with self.engine.connect() as conn:
                yield from self.log.iter_events(conn, **filters)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"cannot read the audit log: {type(exc).__name__}") from None

    def verify(self) -> VerifyReport:
        """Recompute the whole chain."""
        try:
            return self.log.verify(self.engine)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"cannot read the audit log: {type(exc).__name__}") from None

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
