"""The SQL unit of work: one writer thread group-commits every write, so an answer means durable.

``write(op)`` queues the op and blocks; ``write_async(op)`` queues it and returns an asyncio
future that the writer settles, once per batch and event loop, with ``call_soon_threadsafe``
(the gRPC server's handlers run on one event loop, so a batch of 64 Decide calls costs the
loop one wake-up instead of 64 thread switches). The writer takes everything queued (up to
``batch_max``), opens one transaction (on PostgreSQL it first takes the chain's advisory
lock, so replicas append in turn), runs the ops, chains the batch's audit events, and
commits once. An op that raises loses only its own writes and events; a failure outside the
ops (the commit, the chain insert) fails the whole batch with ``StoreUnavailable``. Reads
never touch the writer: they run on pooled connections.

Two ways to run a batch, with the same outcome. The fast way runs the ops without
savepoints and buffers their inserts, written with one ``executemany`` per table just before
the events: a savepoint and a statement per op is most of a Decide's cost. An op that raises
before it wrote anything itself is simply dropped with its buffered rows and events. When
that cannot be done (an op raised after it wrote, or a buffered insert is refused, say a
request id another replica stored meanwhile), the transaction is rolled back and the batch
runs again the exact way: each op in its own SAVEPOINT, every statement at once. The unique
request id stays checked in the database, inside the write, on both ways.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, Self, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from audit import NewEvent
from gateway.adapters.db import WRITE, unavailable
from gateway.adapters.sql_tx import AUDIT, Pending, Retry, SqlReadTx, SqlWriteTx
from gateway.errors import StoreUnavailable
from gateway.review.ports import ReadTx, WriteTx

__all__ = ["SqlStore"]

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Item:
    """One queued op and its answer, for a waiting thread or an asyncio future.

    A thread waits on ``done``, a bare lock held until the answer is set: the cheapest
    hand-off between two threads (a ``Future`` builds a ``Condition`` per call). An async
    item carries an asyncio future instead, settled on its event loop by the writer.
    """

    __slots__ = ("done", "error", "future", "op", "result")

    def __init__(self, op: Callable[[WriteTx], Any], future: asyncio.Future[Any] | None = None) -> None:
        self.op = op
        self.future = future
        self.done: threading.Lock | None = None
        if future is None:
            self.done = threading.Lock()
            self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None

    def settle(self) -> None:
        """Wake the waiting thread (async items are settled on their loop instead)."""
        if self.done is not None:
            self.done.release()

    def wait(self) -> Any:
        assert self.done is not None
        self.done.acquire()
        if self.error is not None:
            raise self.error
        return self.result


def _settle_futures(items: list[_Item]) -> None:
    """Runs on the event loop: hand each async item's answer to its future."""
    for item in items:
        fut = item.future
        assert fut is not None
        if fut.done():  # the caller went away (cancelled): nobody to tell
            continue
        if item.error is not None:
            fut.set_exception(item.error)
        else:
            fut.set_result(item.result)


def _deliver(items: list[_Item]) -> None:
    """Wake every waiting thread; settle async items with one loop call per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Item]] = {}
    for item in items:
        if item.future is None:
            item.settle()
        else:
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
        """Writes waiting for the writer to take them into a batch."""
        return self._queue.qsize()

    def write(self, op: Callable[[WriteTx], T]) -> T:
        """Run ``op`` in the next batch; return its result once the batch is durable."""
        if threading.current_thread() is self._writer:
            raise RuntimeError("Store.write called from inside a write op: it would deadlock")
        item = _Item(op)
        self._put(item)
        return item.wait()  # type: ignore[no-any-return]

    def write_async(self, op: Callable[[WriteTx], T]) -> asyncio.Future[T]:
        """Run ``op`` in the next batch; the future (of the running loop) holds its result
        once the batch is durable. Call it on an event loop thread."""
        item = _Item(op, asyncio.get_running_loop().create_future())
        self._put(item)
        return item.future  # type: ignore[return-value]

    def _put(self, item: _Item) -> None:
        with self._lock:
            if self._closed:
                raise StoreUnavailable("the store is closed")
            self._queue.put(item)

    def read(self, op: Callable[[ReadTx], T]) -> T:
        """Run ``op`` in a read transaction (a snapshot on PostgreSQL: repeatable read)."""
        try:
            with self.engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with conn.begin():
                    return op(SqlReadTx(conn))
        except DBAPIError as exc:
            raise unavailable(self.engine.url, exc) from exc

    def close(self) -> None:
        """Commit what is queued, then stop the writer. Later writes raise StoreUnavailable."""
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
        try:
            try:
                results, touched = self._transaction(batch, fast=True)
            except Retry:
                results, touched = self._transaction(batch, fast=False)
        except Exception as exc:  # any failure outside the ops fails the whole batch
            log.exception("group commit of %d writes failed", len(batch))
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
        for item, result, error in results:
            item.result, item.error = result, error
        _deliver(batch)

    def _transaction(
        self, batch: list[_Item], *, fast: bool
    ) -> tuple[list[tuple[_Item, Any, BaseException | None]], set[str]]:
        """Run the batch in one transaction and commit; ``Retry`` (rolled back) if fast fails."""
        results: list[tuple[_Item, Any, BaseException | None]] = []
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                AUDIT.lock(conn)
                events: list[NewEvent] = []
                pending = Pending() if fast else None
                for item in batch:
                    tx = SqlWriteTx(conn, pending)
                    try:
                        if pending is None:
                            with conn.begin_nested():
                                result = item.op(tx)
                        else:
                            result = item.op(tx)
                    except Retry:
                        raise
                    except Exception as exc:  # noqa: BLE001 - the op's failure undoes only it
                        if pending is not None:
                            # A database error may have spoilt the transaction (PostgreSQL
                            # aborts it): only a savepoint can undo it, so the exact way.
                            if tx.wrote or isinstance(exc, DBAPIError):
                                raise Retry from exc
                            pending.drop(*tx.mine)
                        results.append((item, None, exc))
                        continue
                    events.extend(tx.events)
                    results.append((item, result, None))
                if pending:
                    try:
                        pending.flush(conn)
                    except DBAPIError as exc:
                        raise Retry from exc
                try:
                    AUDIT.append(conn, events)
                except (TypeError, ValueError) as exc:  # a body JSON cannot hold (fast way only)
                    if pending is None:
                        raise
                    raise Retry from exc
        return results, {e.decision_id for e in events if e.decision_id}
