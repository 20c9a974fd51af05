"""Shadow models judged on real cases: agreement with the primary and with the humans who signed off."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from audit.schema import audit_events
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded

__all__ = ["load_shadow_rows", "shadow_stats"]

Row = tuple[Mapping[str, Any], str]
"""The decision_received proposal body, and the human outcome ('' when nobody reviewed it)."""


def shadow_stats(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Per shadow binding: cases, answers, agreement with the primary and with human outcomes."""
    out: dict[str, dict[str, Any]] = {}
    for proposal, human in rows:
        call = proposal.get("call") or {}
        for shadow in call.get("shadows") or []:
            s = out.setdefault(
                str(shadow.get("binding")),
                {
                    "shadow": str(shadow.get("binding")),
                    "primary": call.get("binding", ""),
                    "cases": 0,
                    "answered": 0,
                    "agree_primary": 0,
                    "labelled": 0,
                    "shadow_right": 0,
                    "primary_right": 0,
                },
            )
            s["cases"] += 1
            answer = shadow.get("outcome")
            if answer is None:
                continue
            s["answered"] += 1
            s["agree_primary"] += answer == proposal.get("outcome")
            if human:
                s["labelled"] += 1
                s["shadow_right"] += answer == human
                s["primary_right"] += proposal.get("outcome") == human
    return [out[k] for k in sorted(out)]


def load_shadow_rows(conn: Connection, decision_type: str = "") -> list[Row]:
    """Every model-proposed decision's received proposal, with its reviewed outcome if any."""
    q = (
        select(audit_events.c.body_json, decisions.c.final_outcome, decisions.c.reviewer)
        .join(decisions, decisions.c.decision_id == audit_events.c.decision_id)
        .where(audit_events.c.type == "decision_received")
    )
    if decision_type:
        q = q.where(decisions.c.decision_type == decision_type)
    rows: list[Row] = []
    for body_json, final, reviewer in conn.execute(q):
        proposal = json.loads(body_json).get("proposal") or {}
        if (proposal.get("call") or {}).get("shadows"):
            rows.append((proposal, final if reviewer else ""))
    return rows
