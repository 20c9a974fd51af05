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
9. Otherwise: **changed** at ``r.seq``.

What no chain can show on its own: rows cut from the end, or forged rows appended with
correctly computed hashes. Anchor the reported head ``(seq, hash)`` somewhere else (a ticket,
a notary, another database) and compare it on the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha256
from typing import Literal

from audit.chain import event_hash, event_preimage
from audit.record import GENESIS, Event

__all__ = ["Problem", "VerifyReport", "verify"]

Problem = Literal["changed", "removed", "inserted"]


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


def verify(rows: Iterable[Event]) -> VerifyReport:
    """Walk ``rows`` (ordered by seq) and report the head or the first tampered row."""
    it = iter(rows)
    count = 0
    p_seq, p_hash = 0, GENESIS
    pp_hash: str | None = None
    for r in it:
        seq = r.seq
        if seq == p_seq + 1 and r.prev_hash == p_hash:
            digest = sha256(
                p_hash.encode("ascii")
                + event_preimage(
                    seq,
                    r.time,
                    r.type,
                    r.decision_id,
                    r.actor,
                    r.policy_name,
                    r.policy_version,
                    r.policy_digest,
                    r.body_json,
                    r.decision_type,
                )
            ).hexdigest()
            if digest == r.hash:
                count += 1
                pp_hash, p_seq, p_hash = p_hash, seq, digest
                continue
        problem, bad = _classify(r, p_seq, p_hash, pp_hash, next(it, None))
        return VerifyReport(False, count, p_seq, p_hash, bad, problem)
    return VerifyReport(True, count, p_seq, p_hash)


def _classify(
    r: Event, p_seq: int, p_hash: str, pp_hash: str | None, nxt: Event | None
) -> tuple[Problem, int]:
    """Apply rules 1-2 and 4-9 of the module docstring to a row that failed the check."""
    if r.seq <= p_seq:
        return "inserted", r.seq
    if r.seq > p_seq + 1:
        return "removed", p_seq + 1
    linked = r.prev_hash == p_hash
    if nxt is not None and nxt.prev_hash == p_hash:
        return "inserted", r.seq
    if not linked and pp_hash is not None and r.prev_hash == pp_hash:
        return "inserted", p_seq
    if linked:
        return "changed", r.seq
    if event_hash(r, seq=r.seq + 1) == r.hash:
        return "removed", r.seq
    if event_hash(r) == r.hash and p_seq > 0:
        return "changed", p_seq
    return "changed", r.seq
