"""Read one decision's trail from the database and check its events without a full chain walk.

A lookup costs a primary-key select on ``decisions``, the decision's events through the
``decision_id`` index, the hashes of each event's predecessor by ``seq`` (primary key), and the
policy text by ``(name, version)``: a handful of index probes, whatever the size of the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from audit.chain import event_hash
from audit.record import GENESIS, Event
from audit.schema import audit_events
from audit.store import AuditLog
from gateway.adapters.personal import KeyRing
from gateway.adapters.tables import decisions
from gateway.policy.loader import text_digest
from gateway.reports.state import derive, mismatches
from gateway.reports.trail import build_trail
from gateway.review.personal import is_erased

__all__ = ["check_events", "load_trail"]

_E = audit_events.c
_D = decisions.c


def check_events(conn: Connection, events: Sequence[Event]) -> bool:
    """True when these events are unaltered and still sit where they were chained.

    Each event's hash must recompute from its columns, its ``prev_hash`` must be the stored
    hash of the row before it (genesis before seq 1), and the row after it (if any) must name
    its hash as ``prev_hash``: that last probe catches an event rewritten with a recomputed
    hash. A handful of primary-key probes, whatever the size of the log; not a full walk.
    """
    if not events:
        return False
    around = sorted({s for e in events for s in (e.seq - 1, e.seq + 1) if s > 0})
    hashes: dict[int, str] = {0: GENESIS}
    prevs: dict[int, str] = {}
    for i in range(0, len(around), 500):
        chunk = around[i : i + 500]
        for seq, h, p in conn.execute(select(_E.seq, _E.hash, _E.prev_hash).where(_E.seq.in_(chunk))):
            hashes[int(seq)], prevs[int(seq)] = str(h), str(p)
    for e in events:
        if event_hash(e) != e.hash or hashes.get(e.seq - 1) != e.prev_hash:
            return False
        following = prevs.get(e.seq + 1)
        if following is not None and following != e.hash:
            return False
    return True


def load_trail(conn: Connection, decision_id: str) -> dict[str, Any] | None:
    """The trail of ``decision_id``, or None when neither the decision nor an event exists."""
    row = conn.execute(
        select(_D.decision_id, _D.policy_name, _D.policy_version, _D.status, _D.route, _D.final_outcome).where(
            _D.decision_id == decision_id
        )
    ).first()
    log = AuditLog()
    events = list(log.iter_events(conn, decision_id=decision_id))
    if row is None and not events:
        return None
    if events:
        name, version = events[0].policy_name, events[0].policy_version
    else:
        name, version = row.policy_name, row.policy_version  # type: ignore[union-attr]
    policy = log.get_policy(conn, name, version)
    text = None if policy is None else policy.text
    recorded = events[0].policy_digest if events else (policy.digest if policy is not None else "")
    mismatch = text is not None and text_digest(text) != recorded
    trail = build_trail(events, None if mismatch else text, check_events(conn, events))
    trail["policy"]["text_mismatch"] = mismatch  # the stored text is not what the events recorded
    trail["state_mismatches"] = (
        []
        if row is None or not events
        else [
            str(m)
            for m in mismatches(
                decision_id,
                row.status,
                row.route,
                row.final_outcome,
                derive([(e.seq, e.type, e.body_json) for e in events]),
            )
        ]
    )
    if not events:
        trail["decision_id"] = decision_id
    return reveal_trail(conn, trail)


def reveal_trail(conn: Connection, trail: dict[str, Any]) -> dict[str, Any]:
    """The trail with its sealed personal fields opened, or shown erased once the subject's keys
    are gone (``trail["erased"]`` lists those fields); the events themselves hold only ciphertext."""
    shown = KeyRing(conn).open(trail["subject_ref"], {k: v for k, v in trail.items() if k != "events"})
    shown["events"] = trail["events"]
    shown["erased"] = sorted(k for k, v in (shown.get("input") or {}).items() if is_erased(v))
    return shown
