"""Cross-replica wake-ups on PostgreSQL: the writer NOTIFYs, every replica LISTENs.

Each committed batch sends the decision ids its events touched on the channel
``signoff_decisions`` (``pg_notify`` inside the batch's transaction, so PostgreSQL delivers it
only at commit, and only if the commit succeeds). Every replica runs ``listen`` on its event
loop with psycopg's async notifications and hands the ids to its local notifier, so a sign-off
on one replica wakes the watchers and waiting ``Decide`` calls on the others at once, with no
polling. If the listening connection drops, it reconnects with backoff; meanwhile the
watchers' poll (``--watch-poll``, 1 s by default) still bounds how late they can be.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

import structlog
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

__all__ = ["CHANNEL", "listen", "notify_committed"]

CHANNEL = "signoff_decisions"
_PAYLOAD_MAX = 7900  # PostgreSQL's limit is 8000 bytes per notification
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")
log = structlog.get_logger("signoff.replicas")


def notify_committed(conn: Connection, decision_ids: Iterable[str]) -> None:
    """Queue notifications of these ids in ``conn``'s transaction (sent when it commits)."""
    chunk: list[str] = []
    size = 0
    for decision_id in sorted(decision_ids):
        if chunk and size + len(decision_id) + 1 > _PAYLOAD_MAX:
            conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": ",".join(chunk)})
            chunk, size = [], 0
        chunk.append(decision_id)
        size += len(decision_id) + 1
    if chunk:
        conn.execute(_NOTIFY, {"channel": CHANNEL, "payload": ",".join(chunk)})


def libpq_url(url: URL) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as psycopg itself takes it."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    conninfo: str,
    wake: Callable[[list[str]], None],
    *,
    ready: asyncio.Event | None = None,
    max_backoff: float = 10.0,
) -> None:
    """LISTEN on ``CHANNEL`` until cancelled; call ``wake(ids)`` for each notification."""
    import psycopg  # the postgres extra: only a PostgreSQL deployment gets here

    backoff = 0.2
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                log.info("replica_listen_started", channel=CHANNEL)
                backoff = 0.2
                if ready is not None:
                    ready.set()
                async for note in conn.notifies():
                    wake([i for i in note.payload.split(",") if i])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a lost connection must not stop the gateway
            log.warning(
                "replica_listen_failed",
                error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                retry_in=backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)
