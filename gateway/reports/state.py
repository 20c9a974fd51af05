"""The ``decisions`` table against the events: the mutable table must say what the chain says.

Get, Query and the report read ``decisions``, which the application updates and so cannot be
append-only. Its status, final outcome and route are derived facts: this check re-derives them
from the hash-chained events (``routed``, ``decision_finalized``) and names every row that
disagrees, with the seq of the event that says otherwise. Streaming: both sides are read in
``decision_id`` order (the primary key, and the events' ``decision_id`` index) and merged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from audit.schema import audit_events
from gateway.adapters.tables import decisions

__all__ = ["Derived", "StateMismatch", "check_state", "derive", "mismatches"]

_E = audit_events.c
_D = decisions.c
_HELD = ("PENDING_REVIEW", "IN_REVIEW")


@dataclass(frozen=True, slots=True)
class StateMismatch:
    """One ``decisions`` column that is not what the events say."""

    decision_id: str
    column: str
    stored: str
    derived: str
    seq: int

    def __str__(self) -> str:
        at = f"seq {self.seq}" if self.seq else "no event"
        return (
            f"STATE MISMATCH decision {self.decision_id}: {self.column} is {self.stored!r} in the decisions "
            f"table, the events say {self.derived!r} ({at})"
        )


@dataclass
class Derived:
    """What the events of one decision say: route, status, final outcome, and where."""

    route: str | None = None
    route_seq: int = 0
    status: str | None = None
    final_outcome: str = ""
    final_seq: int = 0


def derive(rows: list[tuple[int, str, str]]) -> Derived:
    """Fold one decision's ``(seq, type, body_json)`` events (seq order) into what they say."""
    d = Derived()
    for seq, type_, body_json in rows:
        body: dict[str, Any] = json.loads(body_json)
        if type_ == "routed":
            d.route, d.route_seq = str(body.get("route", "")), seq
        elif type_ == "decision_finalized":
            d.status, d.final_outcome, d.final_seq = (
                str(body.get("status", "")),
                str(body.get("final_outcome", "")),
                seq,
            )
    return d


def mismatches(decision_id: str, status: str, route: str, final_outcome: str, d: Derived | None) -> list[StateMismatch]:
    """How a stored row differs from what its events say (``d`` None: it has no such events)."""
    if d is None or d.route is None:
        return [StateMismatch(decision_id, "events", "a decision row", "no routed event for it", 0)]
    out = []
    if route != d.route:
        out.append(StateMismatch(decision_id, "route", route, d.route, d.route_seq))
    if d.status is None:
        if status not in _HELD:
            out.append(
                StateMismatch(decision_id, "status", status, "held for review (no decision_finalized)", d.route_seq)
            )
        if final_outcome:
            out.append(StateMismatch(decision_id, "final_outcome", final_outcome, "", d.route_seq))
    else:
        if status != d.status:
            out.append(StateMismatch(decision_id, "status", status, d.status, d.final_seq))
        if final_outcome != d.final_outcome:
            out.append(StateMismatch(decision_id, "final_outcome", final_outcome, d.final_outcome, d.final_seq))
    return out


def _bytewise(column: Any, conn: Connection) -> Any:
    """``column`` ordered by its bytes on every backend, as Python compares the strings."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _events_by_decision(conn: Connection) -> Iterator[tuple[str, Derived]]:
    stmt = (
        select(_E.decision_id, _E.seq, _E.type, _E.body_json)
        .where(_E.type.in_(("routed", "decision_finalized")))
        .order_by(_bytewise(_E.decision_id, conn), _E.seq)
        .execution_options(yield_per=5000)
    )
    current: str | None = None
    rows: list[tuple[int, str, str]] = []
    for did, seq, type_, body in conn.execute(stmt):
        if did != current:
            if current is not None:
                yield current, derive(rows)
            current, rows = did, []
        rows.append((int(seq), type_, body))
    if current is not None:
        yield current, derive(rows)


def check_state(conn: Connection) -> Iterator[StateMismatch]:
    """Every disagreement between ``decisions`` and the events, in decision id order."""
    events = _events_by_decision(conn)
    nxt = next(events, None)
    stmt = (
        select(_D.decision_id, _D.status, _D.route, _D.final_outcome)
        .order_by(_bytewise(_D.decision_id, conn))
        .execution_options(yield_per=5000)
    )
    for did, status, route, final_outcome in conn.execute(stmt):
        while nxt is not None and nxt[0] < did:
            nxt = next(events, None)
        derived = nxt[1] if nxt is not None and nxt[0] == did else None
        yield from mismatches(did, status, route, final_outcome, derived)
