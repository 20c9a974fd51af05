"""A data subject's access report (GDPR Art. 15): every decision about them, as the log tells it.

Each decision is its trail (``reports/explain.load_trail``): what was received, the rule and
reasons that routed it, the policy version, every human who reviewed it and what they said, and
whether its chain verifies; personal fields opened, or shown erased once the subject's keys are
gone. With it: the subject's legal hold, if any, and the erasures the log records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from audit.record import iso_utc
from audit.store import AuditLog
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import subject_holds
from gateway.reports.explain import load_trail
from gateway.reports.trail import render_trail

__all__ = ["SUBJECT_EVENTS", "render_subject", "subject_report"]

SUBJECT_EVENTS = ("subject_erased", "subject_held", "subject_hold_released")
"""The events ``signoff subject`` logs (they name no decision)."""

_D = decisions.c
_H = subject_holds.c


def subject_report(conn: Connection, subject_ref: str) -> dict[str, Any]:
    """The subject's decisions (oldest first, each a trail), hold and logged erasures and holds."""
    ids = conn.execute(
        select(_D.decision_id).where(_D.subject_ref == subject_ref).order_by(_D.created_at, _D.decision_id)
    ).scalars()
    trails = [t for t in (load_trail(conn, i) for i in ids) if t is not None]
    hold = conn.execute(select(_H.reason, _H.held_at, _H.held_by).where(_H.subject_ref == subject_ref)).first()
    logged = [
        {"seq": e.seq, "at": iso_utc(e.time), "type": e.type, "actor": e.actor, "reason": e.body.get("reason", "")}
        for e in AuditLog().iter_events(conn, types=SUBJECT_EVENTS)
        if e.body.get("subject_ref") == subject_ref
    ]
    return {
        "subject_ref": subject_ref,
        "decisions": trails,
        "hold": None if hold is None else {"reason": hold.reason, "since": iso_utc(hold.held_at), "by": hold.held_by},
        "erasures": [x for x in logged if x["type"] == "subject_erased"],
        "log": logged,
    }


def render_subject(report: dict[str, Any]) -> str:
    """The access report in plain words: a header, then each decision's story."""
    out = [f"Subject {report['subject_ref']}: {len(report['decisions'])} decision(s) on record."]
    if report["hold"]:
        h = report["hold"]
        out.append(f"Under a legal hold since {h['since']} ({h['reason']}, by {h['by']}): erasure is refused.")
    for x in report["log"]:
        what = {"subject_erased": "erased", "subject_held": "held", "subject_hold_released": "hold released"}[x["type"]]
        out.append(f"  {x['at']} {what} by {x['actor']}: {x['reason']} (seq {x['seq']})")
    text = "\n".join(out) + "\n"
    for trail in report["decisions"]:
        text += "\n" + render_trail(trail)
    return text
