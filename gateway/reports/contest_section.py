"""The report's contests section: DSA Art. 24(1)(a)-style figures from the log.

For contests filed in the period (``decision_contested`` events): how many, how many were decided
and how (upheld or reversed), the reversal rate among decided ones, the median time from filing
to decision, and how many are still open at the end of the period; per decision type too.
Read from the chained events, not the decisions table, so an edit of the table cannot improve them.
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import Connection, select

from audit.schema import audit_events

__all__ = ["contest_section", "render_contests"]

_E = audit_events.c


def contest_section(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    """Contests filed in ``[start, end)`` and what became of them by ``end``."""
    filed = {
        r.decision_id + "/" + json.loads(r.body_json)["task_id"]: (r.decision_type, r.time)
        for r in conn.execute(
            select(_E.decision_id, _E.decision_type, _E.time, _E.body_json).where(
                _E.type == "decision_contested", _E.time >= start, _E.time < end
            )
        )
    }
    decided: dict[str, tuple[str, datetime]] = {}
    for r in conn.execute(
        select(_E.decision_id, _E.time, _E.body_json).where(
            _E.type == "contest_decided", _E.time >= start, _E.time < end
        )
    ):
        body = json.loads(r.body_json)
        decided[r.decision_id + "/" + body["task_id"]] = (str(body.get("result", "")), r.time)
    groups: dict[str, list[str]] = {}
    for key, (decision_type, _) in filed.items():
        groups.setdefault(decision_type, []).append(key)
    return {
        "basis": "contests filed in [from, to) (decision_contested events) and their results by the period's end",
        "overall": _figures(list(filed), filed, decided),
        "by_decision_type": [
            {"decision_type": t, **_figures(keys, filed, decided)} for t, keys in sorted(groups.items())
        ],
    }


def _figures(
    keys: list[str], filed: dict[str, tuple[str, datetime]], decided: dict[str, tuple[str, datetime]]
) -> dict[str, Any]:
    done = [k for k in keys if k in decided]
    reversed_ = sum(1 for k in done if decided[k][0] == "reversed")
    waits = [(decided[k][1] - filed[k][1]).total_seconds() for k in done]
    return {
        "filed": len(keys),
        "decided": len(done),
        "upheld": len(done) - reversed_,
        "reversed": reversed_,
        "open": len(keys) - len(done),
        "reversal_rate": reversed_ / len(done) if done else None,
        "median_seconds_to_decide": statistics.median(waits) if waits else None,
    }


def render_contests(section: dict[str, Any] | None) -> str:
    """The section as HTML: one table, overall first."""
    if not section:
        return ""
    rows = [{"decision_type": "all", **section["overall"]}, *section["by_decision_type"]]

    def cell(v: Any, kind: str = "") -> str:
        if v is None:
            return "-"
        if kind == "pct":
            return f"{100 * v:.1f}%"
        if kind == "dur":
            return f"{v / 3600:.1f} h" if v >= 3600 else f"{v:.0f} s"
        return escape(str(v))

    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "decision type",
            "filed",
            "decided",
            "upheld",
            "reversed",
            "open",
            "reversal rate",
            "median time to decide",
        )
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell(r[k], kind)}</td>"
            for k, kind in (
                ("decision_type", ""),
                ("filed", ""),
                ("decided", ""),
                ("upheld", ""),
                ("reversed", ""),
                ("open", ""),
                ("reversal_rate", "pct"),
                ("median_seconds_to_decide", "dur"),
            )
        )
        + "</tr>"
        for r in rows
    )
    return (
        "<h2>Contests (GDPR Art. 22(3); DSA Art. 20 and 24)</h2>"
        f'<p class="note">{escape(section["basis"])}.</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
