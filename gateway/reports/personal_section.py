"""The report's personal-data section: erasures and legal holds (GDPR Art. 17), and what they left.

Erasures and holds come from the chained events of the period (``subject_erased``, ``subject_held``,
``subject_hold_released``), the standing holds from ``subject_holds``. Decisions about an erased
subject still count in every other figure of the report (crypto-shredding keeps the rows and the
chain); here they are counted once more: the decisions of the period made before their subject's
keys were destroyed, whose personal fields now read as erased. A decision about the same subject
after the erasure is sealed under a new key and is not among them.
"""

from __future__ import annotations

import json
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import Connection, exists, func, select

from audit.schema import audit_events
from gateway.adapters.tables import decision_log, subject_holds, subject_keys

__all__ = ["personal_section", "render_personal"]

_E = audit_events.c
_D = decision_log.c
_K = subject_keys.c
_TYPES = ("subject_erased", "subject_held", "subject_hold_released")


def personal_section(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    """Erasures and holds logged in ``[start, end)``, standing holds, and the period's decisions
    about erased subjects."""
    counts = dict.fromkeys(_TYPES, 0)
    erased_subjects: set[str] = set()
    keys = 0
    rows = conn.execute(select(_E.type, _E.body_json).where(_E.type.in_(_TYPES), _E.time >= start, _E.time < end))
    for type_, body_json in rows:
        counts[type_] += 1
        if type_ == "subject_erased":
            body = json.loads(body_json)
            erased_subjects.add(str(body.get("subject_ref", "")))
            keys += int(body.get("keys", 0) or 0)
    # Made before a key of its subject was destroyed: sealed under a key that is gone (a later
    # decision about the same subject is sealed under a new key, and reads).
    shredded = exists().where(_K.subject_ref == _D.subject_ref, _K.key.is_(None), _K.erased_at >= _D.created_at)
    about_erased = conn.execute(
        select(func.count()).select_from(decision_log).where(_D.created_at >= start, _D.created_at < end, shredded)
    ).scalar_one()
    held = conn.execute(select(func.count()).select_from(subject_holds)).scalar_one()
    return {
        "basis": "erasures and holds logged in [from, to); standing holds at report time; decisions "
        "created in [from, to) before their subject's keys were destroyed (they still count in every "
        "other figure; their personal fields read as erased)",
        "erasures": counts["subject_erased"],
        "subjects_erased": len(erased_subjects),
        "keys_destroyed": keys,
        "holds_placed": counts["subject_held"],
        "holds_released": counts["subject_hold_released"],
        "subjects_under_hold": int(held),
        "decisions_before_erasure": int(about_erased),
    }


def render_personal(section: dict[str, Any] | None) -> str:
    """The section as HTML: one two-column table."""
    if not section:
        return ""
    rows = (
        ("erasures (Art. 17)", "erasures"),
        ("subjects erased", "subjects_erased"),
        ("keys destroyed", "keys_destroyed"),
        ("legal holds placed (Art. 17(3))", "holds_placed"),
        ("legal holds released", "holds_released"),
        ("subjects under a legal hold now", "subjects_under_hold"),
        ("decisions of the period made before their subject's erasure", "decisions_before_erasure"),
    )
    body = "".join(f"<tr><th scope='row'>{label}</th><td>{section[key]:,}</td></tr>" for label, key in rows)
    return (
        "<h2>Personal data (GDPR Art. 15 and 17)</h2>"
        f'<p class="note">{escape(section["basis"])}.</p>'
        f"<table><tbody>{body}</tbody></table>"
    )
