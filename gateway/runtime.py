"""Process-local implementations of the small ports: system clock, ids, and the watch notifier."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

__all__ = ["Listener", "LocalNotifier", "SystemClock", "UuidIds"]


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


class Listener:
    """One waiter's interest in one decision, registered before it reads (so a change that
    commits between its read and its wait is not missed: the wait returns at once)."""

    __slots__ = ("_event", "_loop", "_owner", "decision_id")

    def __init__(self, owner: LocalNotifier, decision_id: str) -> None:
        self._owner = owner
        self.decision_id = decision_id
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Wait until the decision changed since the last wait, or ``timeout``; True if it did."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        self._event.clear()
        return True

    def close(self) -> None:
        """Stop listening."""
        self._owner._forget(self)


class LocalNotifier:
    """Wakes listeners (asyncio, no thread each) when a decision changes in this process.

    ``notify`` may be called from any thread (the store's writer calls it after each commit,
    a replica listener after a notification): each event loop with listeners of the changed
    decisions gets one ``call_soon_threadsafe``. Only watched ids are tracked, so memory stays
    flat.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: dict[str, set[Listener]] = {}

    def listen(self, decision_id: str) -> Listener:
        """Register interest in ``decision_id`` (call on the event loop that will wait)."""
        listener = Listener(self, decision_id)
        with self._lock:
            self._watched.setdefault(decision_id, set()).add(listener)
        return listener

    def _forget(self, listener: Listener) -> None:
        with self._lock:
            mine = self._watched.get(listener.decision_id)
            if mine is not None:
                mine.discard(listener)
                if not mine:
                    del self._watched[listener.decision_id]

    def notify(self, decision_ids: Iterable[str]) -> None:
        """Signal that these decisions changed."""
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Event]] = {}
        with self._lock:
            for decision_id in decision_ids:
                for listener in self._watched.get(decision_id, ()):
                    by_loop.setdefault(listener._loop, []).append(listener._event)
        for loop, events in by_loop.items():
            try:
                loop.call_soon_threadsafe(_set_all, events)
            except RuntimeError:  # that loop is closed: its waiters are gone
                continue

    @property
    def watched(self) -> int:
        """How many decisions have a listener now."""
        with self._lock:
            return len(self._watched)


def _set_all(events: list[asyncio.Event]) -> None:
    for e in events:
        e.set()
