"""The SQL unit of work: one writer thread group-commits every Change, so an answer means durable.

``apply(change)`` queues a Change (plain data) and returns an asyncio future that the writer
settles, once per batch and event loop, with ``call_soon_threadsafe`` (a batch of 64 Decide
calls costs the loop one wake-up, not 64 thread switches). The writer takes everything queued
(up to ``batch_max``), opens one transaction (on PostgreSQL under the chain's advisory lock, so
replicas append in turn), applies the Changes (``gateway.adapters.sql_apply``), chains the
batch's audit events, and commits once. A Change whose guard fails or whose key is taken fails
alone; a failure outside the Changes (the commit, the chain insert) fails the whole batch with
``StoreUnavailable``. Reads never touch the writer: they run on pooled connections.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gateway.adapters.db import WRITE, unavailable
from gateway.adapters.sql_apply import Result, Retry, apply_batch
from gateway.adapters.sql_tx import AUDIT, SqlReadTx
from gateway.errors import StoreUnavailable
from gateway.review.change import Applied, Change
from gateway.review.ports import ReadTx

__all__ = ["SqlStore", "apply_once", "run_transaction"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Item:
    """One queued Change and the future its caller awaits."""

    __slots__ = ("change", "error", "future", "result")

    def __init__(self, change: Change, future: asyncio.Future[Applied]) -> None:
        self.change = change
        self.future = future
        self.result: Applied | None = None
        self.error: BaseException | None = None


def _settle_futures(items: list[_Item]) -> None:
    """Runs on the event loop: hand each item's answer to its future."""
    for item in items:
        fut = item.future
        if fut.done():  # the caller went away (cancelled): nobody to tell
            continue
        if item.error is not None:
            fut.set_exception(item.error)
        else:
            fut.set_result(item.result)  # type: ignore[arg-type]


def _deliver(items: list[_Item]) -> None:
    """Settle the items with one loop call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
    for item in items:
        by_loop.setdefault(item.future.get_loop(), []).append(item)
    for loop, mine in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_futures, mine)
        except RuntimeError:  # the loop is closed: its callers are gone
            log.warning("event loop closed before %d answers could be delivered", len(mine))


_STOP = object()


class SqlStore:
    """``gateway.review.ports.Store`` on SQLAlchemy with a group-commit writer thread.

    ``on_commit`` is called on the writer thread after each commit with the decision ids
    the batch's events touched (the composition root wires it to the watch notifier); its
    errors are logged and never fail a write. ``committed_batches`` counts commits.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        batch_max: int = 256,
        on_commit: Callable[[set[str]], None] | None = None,
    ) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self.engine = engine
        self.batch_max = batch_max
        self.audit = AUDIT
        self._on_commit = on_commit
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._committed = 0
        self._writer = threading.Thread(target=self._run, name="signoff-sql-writer", daemon=True)
        self._writer.start()

    @property
    def committed_batches(self) -> int:
        """How many write transactions the writer has committed."""
        return self._committed

    @property
    def queued(self) -> int:
        """Changes waiting for the writer to take them into a batch."""
        return self._queue.qsize()

    def apply(self, change: Change) -> asyncio.Future[Applied]:
        """Apply ``change`` in the next batch; the future (of the running loop) settles once
        the batch is durable. Call it on an event loop thread."""
        item = _Item(change, asyncio.get_running_loop().create_future())
        with self._lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            self._queue.put(item)
        return item.future

    def read(self, op: Callable[[ReadTx], T]) -> T:
        """Run ``op`` in a read transaction (a snapshot on PostgreSQL: repeatable read)."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
                with conn.begin():
                    return op(SqlReadTx(conn))
        except DBAPIError as exc:
            raise unavailable(self.engine.url, exc) from exc

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Later Changes raise StoreUnavailable."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._writer.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch: list[_Item] = [first]  # type: ignore[list-item]
            stop = False
            while len(batch) < self.batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                batch.append(nxt)  # type: ignore[arg-type]
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Item]) -> None:
        changes = [item.change for item in batch]
        try:
            results, touched = self._apply_changes(changes)
        except Exception as exc:  # any failure outside the Changes fails the whole batch
            log.exception("group commit of %d changes failed", len(batch))
            for item in batch:  # one exception object per waiting caller
                item.error = unavailable(self.engine.url, exc)
            _deliver(batch)
            return
        self._committed += 1
        if touched and self._on_commit is not None:
            try:
                self._on_commit(touched)
            except Exception:
                log.exception("on_commit hook failed")
        for item, (result, error) in zip(batch, results, strict=True):
            item.result, item.error = result, error
        _deliver(batch)

    def _apply_changes(self, changes: list[Change]) -> tuple[list[Result], set[str]]:
        """The batch's transaction, here on the writer thread (``ProcessSqlStore``: in a child)."""
        return run_transaction(self.engine, changes)


def run_transaction(engine: Engine, changes: list[Change]) -> tuple[list[Result], set[str]]:
    """Apply a batch in one transaction and commit: the buffered way first, and the exact way
    (every Change in its own savepoint) if the buffered inserts were refused."""
    try:
        return _transaction(engine, changes, exact=False)
    except Retry:
        return _transaction(engine, changes, exact=True)


def _transaction(engine: Engine, changes: list[Change], *, exact: bool) -> tuple[list[Result], set[str]]:
    """Apply the batch in one transaction and commit; ``Retry`` (rolled back) if the buffered
    way fails."""
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            return apply_batch(conn, changes, exact=exact)


def apply_once(engine: Engine, change: Change) -> Applied:
    """Apply one Change from outside a server (a command line tool), through a store of its own
    that is closed afterwards: the same writer path, chain and guards as the gateway's."""

    async def run() -> Applied:
        return await store.apply(change)

    store = SqlStore(engine)
    try:
        return asyncio.run(run())
    finally:
        store.close()
