"""Recompute the audit chain and name the first row that was changed, removed or inserted.

Pure: stdlib only. Rows arrive ordered by ``seq``; the walk stops at the first bad row and
keeps O(1) memory, so it streams any size of log.

Detection rules, applied to each row ``r`` with ``p`` its predecessor (before the first row,
``p`` is the genesis: seq 0, hash ``GENESIS``); "links" means ``r.prev_hash == p.hash`` and
"recomputes" means ``r.hash`` equals the hash of ``r``'s own columns:

1. ``r.seq <= p.seq`` (a duplicated or out-of-order number): **inserted** at ``r.seq``.
2. ``r.seq > p.seq + 1`` (a gap, including a log that does not start at 1): **removed**,
   first bad seq ``p.seq + 1``, the first missing number.
3. Contiguous, links and recomputes: good.
4. The row after ``r`` links to ``p``, skipping ``r``: **inserted** at ``r.seq``
   (a forged row squeezed in while the others were renumbered).
5. ``r.prev_hash`` is the hash of the row before ``p``: **inserted** at ``p.seq``
   (``p`` was squeezed in with a well-forged hash; ``r`` still points past it).
6. Links but does not recompute: **changed** at ``r.seq`` (a column of ``r`` was edited).
7. Does not link, but recomputes as if numbered ``r.seq + 1``: **removed** at ``r.seq``
   (a row was deleted and the rest renumbered down).
8. Does not link but recomputes: **changed** at ``p.seq`` (``p`` was edited and its hash
   recomputed; ``r`` still commits to ``p``'s original hash). For the first row: **changed**
   at ``r.seq``.
9. Otherwise: **changed** at ``r.seq``. A column of the wrong type (a number stored as text,
   a NULL) never recomputes, so it is reported by these rules like any other edit.

What no chain can show on its own: rows cut from the end, or forged rows appended with
correctly computed hashes. Anchor the reported head ``(seq, hash)`` somewhere else (a ticket,
a notary, another database) and compare it on the next run.

Two entry points walk the same rules: ``verify`` takes ``Event`` objects; ``verify_stored``
takes rows of raw column values in table order (``STORED_COLUMNS``, the time as its
``hashed_time`` text), which is what a database cursor gives without building any object, so the
store's verify parses no datetime and no JSON: ~1 µs of Python per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Literal

from audit.chain import PREIMAGE_VERSION, stored_preimage
from audit.record import GENESIS, Event, hashed_time

__all__ = [
    "STORED_COLUMNS",
    "Problem",
    "StoredRow",
    "VerifyReport",
    "column_values",
    "stored_row",
    "verify",
    "verify_stored",
]

Problem = Literal["changed", "removed", "inserted"]

STORED_COLUMNS = (
    "seq",
    "time",
    "type",
    "decision_id",
    "decision_type",
    "actor",
    "policy_name",
    "policy_version",
    "policy_digest",
    "body_json",
    "prev_hash",
    "hash",
)
"""The column order of a ``StoredRow`` (the table's own order)."""

StoredRow = tuple[Any, ...]
"""One event's column values in ``STORED_COLUMNS`` order, ``time`` as ``hashed_time`` text."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of a chain walk: the head reached, or the first bad row and why."""

    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: Problem | None = None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.count} events, head seq {self.head_seq} hash {self.head_hash}"
        return (
            f"FAILED: row {self.problem} at seq {self.first_bad_seq} "
            f"(verified {self.count} events up to seq {self.head_seq} hash {self.head_hash})"
        )


def column_values(event: Event, time: Any) -> StoredRow:
    """``event``'s columns in ``STORED_COLUMNS`` order, with ``time`` as the caller stores it."""
    return (
        event.seq,
        time,
        event.type,
        event.decision_id,
        event.decision_type,
        event.actor,
        event.policy_name,
        event.policy_version,
        event.policy_digest,
        event.body_json,
        event.prev_hash,
        event.hash,
    )


def stored_row(event: Event) -> StoredRow:
    """``event``'s columns in ``STORED_COLUMNS`` order, its time as ``hashed_time`` text."""
    return column_values(event, hashed_time(event.time))


def verify(rows: Iterable[Event]) -> VerifyReport:
    """Walk ``rows`` (ordered by seq) and report the head or the first tampered row."""
    return verify_stored(map(stored_row, rows))


def verify_stored(
    rows: Iterable[StoredRow],
    *,
    start: tuple[int, str, str | None] = (0, GENESIS, None),
    after: Callable[[], StoredRow | None] | None = None,
) -> VerifyReport:
    """``verify`` over raw column tuples (``StoredRow``), as a database cursor returns them.

    The loop inlines ``stored_preimage`` (one f-string, one encode, one hash per row): this is
    the whole cost of ``signoff audit verify`` besides reading the rows.

    ``start`` and ``after`` let a walk cover one seq range of a longer chain: ``start`` is the
    state the walk would have reached before the range (the predecessor's seq and hash, and the
    hash before that: ``None`` at the genesis), and ``after`` returns the first row past the
    range (or None), which the rules peek at when the range's last row fails. A range walked
    this way reports exactly what the whole walk reports from there on, provided every row
    before the range verified; ``count`` then counts the range's rows only.
    """
    it = iter(rows)
    count = 0
    p_seq, p_hash, pp_hash = start
    head = PREIMAGE_VERSION
    for r in it:
        seq, t, ty, did, dt, ac, pn, pv, pd, bj, ph, h = r
        if seq == p_seq + 1 and ph == p_hash:
            s = str(seq)
            v = str(pv)
            try:
                digest = sha256(
                    f"{ph}{head}{len(s)}:{s}{len(t)}:{t}{len(ty)}:{ty}{len(did)}:{did}"
                    f"{len(dt)}:{dt}{len(ac)}:{ac}{len(pn)}:{pn}{len(v)}:{v}{len(pd)}:{pd}"
                    f"{len(bj)}:{bj}".encode()
                ).hexdigest()
            except (TypeError, UnicodeError):  # a NULL or a non-text value: no hash of it
                digest = None
            if digest == h:
                count += 1
                pp_hash, p_seq, p_hash = p_hash, seq, h
                continue
        nxt = next(it, None)
        if nxt is None and after is not None:
            nxt = after()
        problem, bad = _classify(r, p_seq, p_hash, pp_hash, nxt)
        return VerifyReport(False, count, p_seq, p_hash, bad, problem)
    return VerifyReport(True, count, p_seq, p_hash)


def _recomputes(r: StoredRow, seq: Any) -> bool:
    """Whether ``r``'s hash is the hash of its columns, ``seq`` in place of its own."""
    try:
        pre = stored_preimage(seq, *r[1:10])
        return sha256(str(r[10]).encode("ascii") + pre).hexdigest() == r[11]
    except (TypeError, ValueError):  # NULLs, non-text values, non-ASCII prev_hash
        return False


def _classify(r: StoredRow, p_seq: int, p_hash: str, pp_hash: str | None, nxt: StoredRow | None) -> tuple[Problem, int]:
    """Apply rules 1-2 and 4-9 of the module docstring to a row that failed the check."""
    seq, prev_hash = r[0], r[10]
    if not isinstance(seq, int):
        return "changed", p_seq + 1
    if seq <= p_seq:
        return "inserted", seq
    if seq > p_seq + 1:
        return "removed", p_seq + 1
    linked = prev_hash == p_hash
    if nxt is not None and nxt[10] == p_hash:
        return "inserted", seq
    if not linked and pp_hash is not None and prev_hash == pp_hash:
        return "inserted", p_seq
    if linked:
        return "changed", seq
    if _recomputes(r, seq + 1):
        return "removed", seq
    if _recomputes(r, seq) and p_seq > 0:
        return "changed", p_seq
    return "changed", seq
