"""Process-local implementations of the small ports: system clock, ids, and the watch notifier."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = ["LocalNotifier", "SystemClock", "UuidIds"]


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        return datetime.now(UTC)


class UuidIds:
    """Random UUIDs: unguessable, so a decision id is no handle on someone else's case.

    Version-4 UUIDs from ``os.urandom`` like ``uuid.uuid4``, but the random bytes are read
    256 ids at a time: each ``urandom`` call is a system call that drops the GIL, and on a
    busy server every drop can cost a thread a switch interval before it runs again.
    """

    _BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._pos = 0

    def new(self) -> str:
        """A new id."""
        with self._lock:
            pos = self._pos
            if pos >= len(self._buf):
                self._buf, pos = os.urandom(16 * self._BATCH), 0
            self._pos = pos + 16
            raw = self._buf[pos : pos + 16]
        return str(uuid.UUID(bytes=raw, version=4))


class LocalNotifier:
    """Wakes threads waiting on a decision; only watched ids are tracked, so memory stays flat."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: dict[str, list[int]] = {}  # decision id -> [waiters, generation]

    def notify(self, decision_ids: Iterable[str]) -> None:
        """Signal that these decisions changed."""
        with self._cond:
            hit = False
            for decision_id in decision_ids:
                entry = self._watched.get(decision_id)
                if entry is not None:
                    entry[1] += 1
                    hit = True
            if hit:
                self._cond.notify_all()

    def wait(self, decision_id: str, timeout: float) -> bool:
        """Block until the decision changes or ``timeout`` seconds pass; True if it changed."""
        with self._cond:
            entry = self._watched.setdefault(decision_id, [0, 0])
            entry[0] += 1
            start = entry[1]
            try:
                return self._cond.wait_for(lambda: entry[1] != start, timeout)
            finally:
                entry[0] -= 1
                if entry[0] == 0:
                    del self._watched[decision_id]
