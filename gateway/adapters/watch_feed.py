"""One look at the log for every watcher: what other processes committed since the last look.

A watcher (``WatchDecision``, a waiting ``Decide``) is woken by the notifier when this process
commits a change to its decision, and on PostgreSQL by a replica's ``NOTIFY``. What neither
reaches, a change committed by another process on the same SQLite file or while the LISTEN
connection was down, is found here: every ``--watch-poll`` seconds one indexed query reads the
decision ids of the audit events appended since the last look (every change of a decision is
an event in the same transaction) and wakes their watchers. One query a turn, however many
watchers wait; before this, each watcher re-read its own decision every second, so a thousand
watchers made a thousand reads a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError

from audit.schema import audit_events
from gateway.adapters.db import unavailable

__all__ = ["ChangeFeed"]

_BATCH = 10_000


class ChangeFeed:
    """Wakes the watchers of decisions whose events were appended since the last ``poll``."""

    def __init__(self, engine: Engine, notify: Callable[[Iterable[str]], None], watched: Callable[[], int]) -> None:
        self.engine = engine
        self._notify = notify
        self._watched = watched
        self.last_seq = self._head()

    def _head(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(audit_events.c.seq), 0))).scalar_one())

    def poll(self) -> set[str]:
        """One look: the decision ids woken (none read while nobody watches). A database that
        does not answer is ``StoreUnavailable`` (the gateway's loop logs it in one line)."""
        try:
            return self._look()
        except DBAPIError as exc:
            raise unavailable(self.engine.url, exc) from exc

    def _look(self) -> set[str]:
        if not self._watched():
            self.last_seq = self._head()
            return set()
        c = audit_events.c
        woken: set[str] = set()
        with self.engine.connect() as conn:
            while True:
                rows = conn.execute(
                    select(c.seq, c.decision_id).where(c.seq > self.last_seq).order_by(c.seq).limit(_BATCH)
                ).all()
                if not rows:
                    break
                self.last_seq = int(rows[-1][0])
                woken.update(d for _, d in rows if d)
                if len(rows) < _BATCH:
                    break
        if woken:
            self._notify(woken)
        return woken
