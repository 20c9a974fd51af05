"""Verify the chain in seq ranges walked at once by forked processes, with the sequential verdict.

Each row carries its ``prev_hash``, so a range of the chain verifies on its own once it is given
the state the whole walk would reach before it: the last two rows below the range (their seq and
hashes), which is exactly that state whenever every earlier range verified. Each worker also
peeks at the first row past its range when its own last row fails, as the whole walk would
(``verify_stored``'s ``start`` and ``after``). The ranges' reports are joined in seq order: the
counts add up to the first range that failed, whose first bad seq and problem are the report's.
So a row changed, removed or inserted at a seam is found and classified exactly as the one walk
finds it. The first range is open below and the last open above, so no row escapes.

Workers are forked (``multiprocessing`` "fork"): each opens its own engine and snapshot from the
URL; the calling process walks the first range itself. The log is append-only, so the snapshots
taken a moment apart agree on every row below the head the split was computed from.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, func, select
from sqlalchemy.pool import NullPool

from audit.record import GENESIS
from audit.schema import audit_events
from audit.verify import StoredRow, VerifyReport, verify_stored

if TYPE_CHECKING:
    from audit.store import AuditLog

__all__ = ["PARALLEL_MIN_ROWS", "can_fork", "verify_parallel", "verify_range"]

PARALLEL_MIN_ROWS = 100_000
"""Fewest rows per worker for ``AuditLog.verify`` to fork: below, a process costs more than it saves."""

_E = audit_events.c
_Result = tuple[bool, int, int, str, "int | None", "str | None"]


def can_fork(engine: Engine) -> bool:
    """Whether forked workers can open ``engine``'s database from its URL."""
    if "fork" not in multiprocessing.get_all_start_methods():  # pragma: no cover - not Linux
        return False
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        return database not in (None, "", ":memory:") and "mode=memory" not in str(engine.url)
    return True


def verify_parallel(
    log: AuditLog, engine: Engine, *, workers: int, min_rows_per_worker: int = PARALLEL_MIN_ROWS
) -> VerifyReport:
    """``log.verify(engine)``'s report, the seq range cut into up to ``workers`` ranges."""
    with engine.connect() as conn:
        lo, hi = conn.execute(select(func.min(_E.seq), func.max(_E.seq))).one()
    per = max(1, min_rows_per_worker)
    if not isinstance(lo, int) or not isinstance(hi, int) or hi - lo + 1 < 2 * per:
        with engine.connect() as conn:
            return log.verify(conn)
    workers = max(1, min(workers, (hi - lo + 1) // per))
    base = lo - 1
    cuts = [base + (hi - base) * k // workers for k in range(workers + 1)]
    ranges = [(None if k == 0 else cuts[k], None if k == workers - 1 else cuts[k + 1]) for k in range(workers)]
    url = engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
        futures = [pool.submit(_worker, url, a, b) for a, b in ranges[1:]]
        first = _worker(url, *ranges[0], engine=engine)  # this process walks the first range
        parts = [first, *(f.result() for f in futures)]
    count = 0
    head_seq, head_hash = 0, GENESIS
    for ok, n, p_seq, p_hash, bad, problem in parts:
        count += n
        if not ok:
            return VerifyReport(False, count, p_seq, p_hash, bad, problem)  # type: ignore[arg-type]
        if n:
            head_seq, head_hash = p_seq, p_hash
    return VerifyReport(True, count, head_seq, head_hash)


def verify_range(log: AuditLog, conn: Connection, lo: int | None, hi: int | None) -> VerifyReport:
    """Walk the rows with ``lo < seq <= hi`` (None: open), seeded with the two rows below."""
    if not conn.in_transaction():
        conn.begin()
    start: tuple[int, str, str | None] = (0, GENESIS, None)
    if lo is not None:
        below = conn.execute(select(_E.seq, _E.hash).where(_E.seq <= lo).order_by(_E.seq.desc()).limit(2)).all()
        if len(below) == 2:
            start = (int(below[0][0]), below[0][1], below[1][1])
        elif below:
            start = (int(below[0][0]), below[0][1], GENESIS)

    def after() -> StoredRow | None:
        if hi is None:
            return None
        batches = log._stored_batches(conn, hi, None, limit=1)
        try:
            return next(batches, [None])[0]
        finally:
            batches.close()  # type: ignore[attr-defined]  # a generator, typed as its Iterator

    rows = itertools.chain.from_iterable(log._stored_batches(conn, lo, hi))
    return verify_stored(rows, start=start, after=after)


def _worker(url: str, lo: int | None, hi: int | None, *, engine: Engine | None = None) -> _Result:
    """One range's report as a plain tuple (what crosses the process boundary)."""
    from audit.store import AuditLog

    bind = create_engine(url, poolclass=NullPool) if engine is None else engine
    try:
        with bind.connect() as conn:
            r = verify_range(AuditLog(), conn, lo, hi)
    finally:
        if engine is None:
            bind.dispose()
    return r.ok, r.count, r.head_seq, r.head_hash, r.first_bad_seq, r.problem
