"""The monitor's alarm as audit events: a Change that records it raised or cleared, only on a change of state.

Pure planning, like every use case: the caller reads the last recorded state from the log and
the monitor's figures, and applies the Change this returns (empty when nothing changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audit.record import NewEvent, canonical_json
from gateway.review.change import Change

__all__ = ["ALARM_CLEARED", "ALARM_RAISED", "plan_alarm_events"]

ALARM_RAISED = "monitor_alarm_raised"
ALARM_CLEARED = "monitor_alarm_cleared"


def plan_alarm_events(
    decision_type: str, models: Mapping[str, Mapping[str, Any]], recorded: Mapping[str, bool], now: datetime, actor: str
) -> Change:
    """One event per model whose alarm differs from the last one recorded (none recorded: off)."""
    events = []
    for model, figures in sorted(models.items()):
        audited = figures["audited_error"]
        on = bool(audited["alarm"])
        if on == recorded.get(model, False) or audited["alpha"] is None:
            continue
        body = {
            "decision_type": decision_type,
            "model": model,
            "alpha": audited["alpha"],
            "delta": audited["delta"],
            "audited": audited["audited"],
            "errors": audited["errors"],
            "lower_bound": audited["lower_bound"],
        }
        events.append(
            NewEvent(
                type=ALARM_RAISED if on else ALARM_CLEARED,
                time=now,
                actor=actor,
                body=body,
                decision_type=decision_type,
                body_json=canonical_json(body),
            )
        )
    return Change(events=tuple(events))
