"""Console sessions: a random id in an HttpOnly cookie names a server-side record that expires
when idle, so a stolen page never carries the bearer token and sign-out really ends the session.

Sessions live in the gateway's memory: a restart signs everyone out, which is the safe way to
fail. The id is 32 random bytes; the record holds the principal, a per-session CSRF token and
the time of the last request.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.review.model import Principal

__all__ = ["Session", "SessionStore", "new_token", "same_token"]


def new_token() -> str:
    """An unguessable URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def same_token(given: str, expected: str) -> bool:
    """Compare two tokens in constant time; an empty one never matches."""
    return bool(given) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class Session:
    """One signed-in browser: who it is, its CSRF token, and when it was last used."""

    sid: str
    principal: Principal
    csrf: str
    last_seen: float
    via_proxy: bool = False
    flash: str = field(default="")


class SessionStore:
    """Server-side sessions with an idle expiry; ``clock`` is monotonic seconds."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic, limit: int = 100_000) -> None:
        if idle_seconds <= 0:
            raise ValueError("idle_seconds must be positive")
        self.idle_seconds = idle_seconds
        self.clock = clock
        self.limit = limit
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}

    def create(self, principal: Principal, *, via_proxy: bool = False) -> Session:
        """Start a session for ``principal``; the oldest idle ones go first when full."""
        now = self.clock()
        session = Session(sid=new_token(), principal=principal, csrf=new_token(), last_seen=now, via_proxy=via_proxy)
        with self._lock:
            self._sweep(now)
            if len(self._by_id) >= self.limit:
                oldest = min(self._by_id.values(), key=lambda s: s.last_seen)
                del self._by_id[oldest.sid]
            self._by_id[session.sid] = session
        return session

    def touch(self, sid: str) -> tuple[Session | None, bool]:
        """The live session ``sid`` (its idle clock restarted), and whether it had just expired."""
        if not sid:
            return None, False
        now = self.clock()
        with self._lock:
            session = self._by_id.get(sid)
            if session is None:
                return None, False
            if now - session.last_seen > self.idle_seconds:
                del self._by_id[sid]
                return None, True
            session.last_seen = now
            return session, False

    def end(self, sid: str) -> None:
        """Sign out: forget the session."""
        with self._lock:
            self._by_id.pop(sid, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)

    def _sweep(self, now: float) -> None:
        dead = [sid for sid, s in self._by_id.items() if now - s.last_seen > self.idle_seconds]
        for sid in dead:
            del self._by_id[sid]
