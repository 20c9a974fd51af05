"""The report's calibration section: per decision type and model version, how confidence matches outcomes.

Expected calibration error, Brier score and a reliability diagram (an inline SVG), from the
labelled rows of the period weighted by 1/pi, so the automatic band counts at its true share.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import Connection, and_, select

from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.calibration import quality
from gateway.reports.labelled import read_database

__all__ = ["calibration_section", "render_calibration", "types_in_period"]


def types_in_period(conn: Connection, start: datetime, end: datetime) -> list[str]:
    """The decision types with decisions created in ``[start, end)``, sorted."""
    d = decisions.c
    q = select(d.decision_type).where(and_(d.created_at >= start, d.created_at < end)).distinct()
    return sorted(t for (t,) in conn.execute(q))


def calibration_section(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """ECE, Brier and reliability bins for each decision type and model version with labels in the period."""
    out = []
    for decision_type in types_in_period(conn, start, end):
        hist = read_database(conn, decision_type, start, end, labelled_only=True)
        for model in hist.models():
            h = hist.only_model(model)
            out.append({"decision_type": decision_type, "model": model, **quality(h.conf, h.err, h.pi)})
    return out


def _diagram(bins: list[dict[str, Any]], size: int = 260) -> str:
    pad = 30
    inner = size - 2 * pad

    def xy(x: float, y: float) -> tuple[float, float]:
        return pad + x * inner, size - pad - y * inner

    parts = [
        f'<svg class="reliability" xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
        'font-family="DejaVu Sans,Arial,sans-serif" font-size="10">',
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="#f7f9fc" stroke="#c9d2e0"/>',
    ]
    (x0, y0), (x1, y1) = xy(0, 0), xy(1, 1)
    parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#9aa5b8" stroke-dasharray="4 3"/>')
    for b in bins:
        x, y = xy(b["mean_confidence"], b["accuracy"])
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#2f6fdf"><title>confidence '
            f"{b['mean_confidence']:.3f}, accuracy {b['accuracy']:.3f}, {b['n']} labelled</title></circle>"
        )
    parts.append(f'<text x="{size / 2}" y="{size - 8}" text-anchor="middle">mean confidence</text>')
    parts.append(
        f'<text x="10" y="{size / 2}" transform="rotate(-90 10 {size / 2})" text-anchor="middle">'
        "observed accuracy</text></svg>"
    )
    return "".join(parts)


def render_calibration(section: list[dict[str, Any]]) -> str:
    """The section as HTML: a reliability diagram and the two scores per model version."""
    html = [
        "<h2>Calibration of model confidence</h2>",
        '<p class="note">Labelled decisions of the period (reviews and audit samples), weighted by 1/pi. '
        "Points on the dashed line: confidence means what it says. `signoff calibrate` certifies "
        "thresholds; this section only describes.</p>",
    ]
    if not section:
        html.append('<p class="note">No labelled decisions in this period.</p>')
        return "\n".join(html)
    html.append('<div class="charts">')
    for s in section:
        ece = "-" if s["ece"] is None else f"{s['ece']:.4f}"
        brier = "-" if s["brier"] is None else f"{s['brier']:.4f}"
        html.append(
            f"<figure><figcaption>{escape(s['decision_type'])} / {escape(s['model'])}: "
            f"ECE {ece}, Brier {brier}, {s['n']:,} labelled</figcaption>{_diagram(s['bins'])}</figure>"
        )
    html.append("</div>")
    return "\n".join(html)
