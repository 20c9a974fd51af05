"""A correction: a person's after-the-fact change of a final decision's outcome (audit, reopen, contest).

The decision keeps its final outcome and status (what was decided, and how); the correction is
what callers act on from then on. Appends a guarded update and a ``correction`` event.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from audit.record import NewEvent
from gateway.review.change import Update
from gateway.review.commands import SubmitCommand
from gateway.review.events import event
from gateway.review.model import Correction, Decision, Principal
from gateway.review.rules import payload_of

__all__ = ["correct"]


def correct(
    d: Decision,
    cmd: SubmitCommand,
    outcome: str,
    principal: Principal,
    now: datetime,
    updates: list[Update],
    events: list[NewEvent],
    via: str = "audit",
) -> Decision:
    """``d`` corrected to ``outcome`` by ``principal``: appends the guarded update and the
    ``correction`` event (``via``: what asked for it, an audit or a contest)."""
    assert cmd.action is not None
    correction = Correction(
        outcome=outcome,
        payload=payload_of(cmd.payload),
        action=cmd.action,
        reviewer=principal.name,
        reason=cmd.reason,
        at=now,
    )
    original = d.correction
    d = dataclasses.replace(d, correction=correction)
    updates.append(Update(d, {"correction": original}, f"decision {d.decision_id} was corrected meanwhile"))
    events.append(
        event(
            d,
            "correction",
            principal.name,
            {
                "original_outcome": d.final_outcome,
                "outcome": outcome,
                "payload": dict(correction.payload),
                "action": correction.action.value,
                "reason": cmd.reason,
                **({"via": via} if via != "audit" else {}),
            },
            now,
        )
    )
    return d
