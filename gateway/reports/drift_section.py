"""The report's drift section: the period against the period before it, per decision type and model.

The same figures as ``signoff monitor`` (``monitoring.build_monitor``): PSI and KS of confidence,
route shares, overrides observed against expected, and the audited error of automatic decisions,
with two charts per model version: the confidence histograms of both windows, and the route shares.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import Connection

from gateway.reports.calibration_section import types_in_period
from gateway.reports.monitoring import build_monitor

__all__ = ["drift_section", "render_drift"]


def drift_section(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One monitor per decision type with decisions in ``[start, end)``, against the window before."""
    reference = (start - (end - start), start)
    return [build_monitor(conn, t, reference, (start, end), None, 0.05) for t in types_in_period(conn, start, end)]


def _bars(current: list[int], reference: list[int], width: int = 300, height: int = 140) -> str:
    """Confidence histograms of both windows as shares, side by side per bin (inline SVG)."""
    pad, n = 24, len(current)
    cur_total, ref_total = sum(current) or 1, sum(reference) or 1
    shares = [(c / cur_total, r / ref_total) for c, r in zip(current, reference, strict=True)]
    top = max([max(a, b) for a, b in shares] + [1e-9])
    slot = (width - 2 * pad) / n
    parts = [
        f'<svg class="drift" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        'font-family="DejaVu Sans,Arial,sans-serif" font-size="10"><title>confidence, this period (dark) '
        "against the period before (light)</title>"
    ]
    for i, (a, b) in enumerate(shares):
        x = pad + i * slot
        for j, (share, colour) in enumerate(((b, "#b9c7e6"), (a, "#2f6fdf"))):
            h = (height - 2 * pad) * share / top
            parts.append(
                f'<rect x="{x + j * slot / 2:.1f}" y="{height - pad - h:.1f}" width="{slot / 2 - 1:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{i / n:.1f}-{(i + 1) / n:.1f}: {share:.1%}</title></rect>'
            )
    parts.append(f'<text x="{pad}" y="{height - 6}">0</text><text x="{width - pad - 6}" y="{height - 6}">1</text>')
    parts.append(f'<text x="{width / 2}" y="{height - 6}" text-anchor="middle">confidence</text></svg>')
    return "".join(parts)


def _f(value: Any, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.1%}" if pct else f"{value:.3f}"


def render_drift(section: list[dict[str, Any]]) -> str:
    """The section as HTML: per model version, the two charts and the monitor's figures."""
    html = [
        "<h2>Drift against the period before</h2>",
        '<p class="note">The period against the one of the same length just before it, per model '
        "version (`signoff monitor` gives the same figures; the gateway exports them on /metrics). "
        "PSI above 0.2 is commonly read as a shift worth a look.</p>",
    ]
    rows = [(mon["decision_type"], name, m) for mon in section for name, m in mon["models"].items()]
    if not rows:
        html.append('<p class="note">No decisions in this period.</p>')
        return "\n".join(html)
    html.append('<div class="charts">')
    for decision_type, model, m in rows:
        hist = m["confidence_histogram"]
        shares = ", ".join(
            f"{escape(r)} {_f(v, True)} (before {_f(m['reference_route_share'].get(r), True)})"
            for r, v in m["route_share"].items()
        )
        ov = m["overrides"]
        html.append(
            f"<figure><figcaption>{escape(decision_type)} / {escape(model)}: {m['decisions']:,} decisions "
            f"(before: {m['reference_decisions']:,}, {escape(m['reference_basis'])}); PSI {_f(m['psi'])}, "
            f"KS {_f((m['ks'] or {}).get('statistic'))}; routes {shares}; overrides {ov['observed']} "
            f"observed, {_f(ov['expected'])} expected</figcaption>"
            f"{_bars(hist['current'], hist['reference'])}</figure>"
        )
    html.append("</div>")
    return "\n".join(html)
