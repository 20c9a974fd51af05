"""The compliance report as one self-contained HTML file: inline CSS, inline SVG, no script.

A compliance officer opens it from disk or an e-mail attachment; it fetches nothing, so it
reads the same offline, years later, and prints on A4 without losing a chart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from gateway.reports.calibration_section import render_calibration
from gateway.reports.contest_section import render_contests
from gateway.reports.drift_section import render_drift
from gateway.reports.personal_section import render_personal

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1d2433;
margin:0;background:#fff}
main{max-width:1080px;margin:0 auto;padding:24px 32px 48px}
header{border-bottom:3px solid #1f4e79;padding-bottom:12px;margin-bottom:8px}
h1{font-size:26px;margin:0 0 6px;color:#1f4e79}
h2{font-size:18px;margin:28px 0 8px;color:#1f4e79;border-bottom:1px solid #d5dbe5;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.meta{display:flex;flex-wrap:wrap;gap:8px 28px;font-size:13px;color:#44506a}
.meta b{color:#1d2433}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px}
.ok{background:#d8f0dd;color:#17612b}.bad{background:#f9d6d5;color:#9b1c1c}.skip{background:#fdf0c8;color:#7a5a00}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:16px 0}
.kpi{border:1px solid #d5dbe5;border-radius:6px;padding:10px 12px;background:#f6f8fb}
.kpi .v{font-size:24px;font-weight:700;color:#1f4e79}.kpi .l{font-size:12px;color:#44506a}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #e3e7ee;text-align:right;white-space:nowrap}
th{background:#eef2f7;color:#1d2433;font-weight:600}
th:first-child,td:first-child,td.t,th.t{text-align:left}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}
figure{margin:0;border:1px solid #d5dbe5;border-radius:6px;padding:8px 10px}
figcaption{font-weight:600;font-size:13px;margin-bottom:4px}
.note{font-size:12px;color:#5b6478}
code,.hash{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
@media print{main{padding:0}h2{break-after:avoid}figure,table{break-inside:avoid}
.kpis{grid-template-columns:repeat(4,1fr)}}
"""

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf")


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else escape(str(v))


def _dec(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _dur(v: Any) -> str:
    if v is None:
        return "-"
    if v < 60:
        return f"{v:.1f} s"
    if v < 3600:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.1f} h"


def _bars(rows: Sequence[tuple[str, float, str]], *, max_value: float | None = None, width: int = 480) -> str:
    """A horizontal bar chart: (label, value, shown text) per bar."""
    if not rows:
        return '<p class="note">No data in this period.</p>'
    top = max_value or max((v for _, v, _ in rows), default=0) or 1.0
    label_w, bar_w, row_h = 130, width - 130 - 100, 24
    h = row_h * len(rows) + 6
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" viewBox="0 0 {width} {h}" '
            f'role="img" font-family="DejaVu Sans,Arial,sans-serif" font-size="12">'
        )
    ]
    for i, (label, value, text) in enumerate(rows):
        y = 3 + i * row_h
        w = 0 if top <= 0 else max(bar_w * value / top, 1 if value > 0 else 0)
        color = _COLORS[i % len(_COLORS)]
        parts.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="#1d2433">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 6}" fill="#eef2f7"/>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}" fill="#1d2433">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(rows: Sequence[Mapping[str, Any]], cols: Sequence[tuple[str, str, Any]]) -> str:
    if not rows:
        return '<p class="note">None in this period.</p>'
    head = "".join(f"<th>{escape(title)}</th>" for _, title, _ in cols)
    body = []
    for r in rows:
        cells = "".join(f"<td>{fmt(r.get(key))}</td>" for key, _, fmt in cols)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


_SIGNOFF_COLS: list[tuple[str, str, Any]] = [
    ("reviewed", "reviewed", _num),
    ("approved", "approved", _num),
    ("edited", "edited", _num),
    ("overridden", "overridden", _num),
    ("rejected", "rejected", _num),
    ("override_rate", "override", _pct),
    ("edit_rate", "edit", _pct),
    ("reject_rate", "reject", _pct),
    ("changed_rate", "changed", _pct),
]


def _kpi(value: str, label: str) -> str:
    return f'<div class="kpi"><div class="v">{value}</div><div class="l">{escape(label)}</div></div>'


def _chain_badge(chain: Mapping[str, Any]) -> str:
    if not chain["verified"]:
        return '<span class="badge skip">chain NOT verified (--no-verify)</span>'
    if chain["ok"]:
        return f'<span class="badge ok">chain verified: {chain["count"]:,} events intact</span>'
    return (
        f'<span class="badge bad">CHAIN BROKEN: row {escape(str(chain["problem"]))} '
        f"at seq {chain['first_bad_seq']}</span>"
    )


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one HTML document (UTF-8 text)."""
    v, so, ttd = report["volumes"], report["sign_offs"], report["time_to_decision"]
    sig, aud, chain = report["significant"], report["audit_samples"], report["chain"]
    period = report["period"]
    s: list[str] = []
    s.append(f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(report["title"])}: {escape(period["from"])} to {escape(period["to"])}</title>
<style>{_CSS}</style></head><body><main>
<header><h1>{escape(report["title"])}</h1><div class="meta">
<span>Period <b>{escape(period["from"])}</b> to <b>{escape(period["to"])}</b> ({escape(period["basis"])})</span>
<span>Generated <b>{escape(report["generated_at"])}</b></span>
<span>Source <b>{escape(report.get("source") or "-")}</b></span>
<span>{_chain_badge(chain)}</span></div></header>""")
    s.append(
        '<div class="kpis">'
        + _kpi(f"{v['total']:,}", "decisions in the period")
        + _kpi(_pct(v["automation_rate"]), "decided automatically")
        + _kpi(_pct(so["overall"]["override_rate"]), "of human sign-offs overrode the model")
        + _kpi(_pct(sig["share_with_human_review"]), "of significant decisions had a human review")
        + "</div>"
    )

    s.append("<h2>Volumes and routing</h2>")
    route_rows = [
        (
            f"{r['decision_type']} / {r['route']}" if len(v["by_decision_type"]) > 1 else r["route"],
            r["count"],
            f"{r['count']:,} ({_pct(r['share'])})",
        )
        for r in v["by_route"]
    ]
    queue_rows = [(r["queue"], r["review_rate"] or 0.0, _pct(r["review_rate"])) for r in report["review_by_queue"]]
    s.append(
        '<div class="charts"><figure><figcaption>Route split (decisions)</figcaption>'
        + _bars(route_rows)
        + "</figure><figure><figcaption>Review rate by queue (share of all decisions)"
        "</figcaption>" + _bars(queue_rows) + "</figure></div>"
    )
    s.append(
        _table(
            v["by_decision_type"],
            [
                ("decision_type", "decision type", _num),
                ("total", "total", _num),
                ("automatic", "automatic", _num),
                ("held", "held for review", _num),
                ("automation_rate", "automation rate", _pct),
            ],
        )
    )
    s.append("<h3>Review queues</h3>")
    s.append(
        _table(
            report["review_by_queue"],
            [
                ("queue", "queue", _num),
                ("held", "held", _num),
                ("review_rate", "review rate", _pct),
                ("human_decided", "signed off", _num),
                ("pending", "pending", _num),
                ("in_review", "in review", _num),
                ("expired", "expired", _num),
                ("completion_rate", "completed", _pct),
            ],
        )
    )

    s.append("<h2>Human sign-offs: override, edit and reject rates</h2>")
    s.append(f'<p class="note">Basis: {escape(so["basis"])}.</p>')
    q_rows = [
        (r["queue"], r["override_rate"] or 0.0, f"{_pct(r['override_rate'])} of {r['reviewed']:,}")
        for r in so["by_queue"]
    ]
    b_rows = [
        (r["band"], r["override_rate"] or 0.0, f"{_pct(r['override_rate'])} of {r['reviewed']:,}")
        for r in so["by_confidence_band"]
    ]
    s.append(
        '<div class="charts"><figure><figcaption>Override rate by queue</figcaption>'
        + _bars(q_rows, max_value=1.0)
        + "</figure><figure><figcaption>Override rate by confidence band"
        "</figcaption>" + _bars(b_rows, max_value=1.0) + "</figure></div>"
    )
    for title, key, cols in (
        (
            "By policy version",
            "by_policy_version",
            [("policy_name", "policy", _num), ("policy_version", "version", _num)],
        ),
        ("By queue", "by_queue", [("queue", "queue", _num)]),
        ("By rule", "by_rule", [("rule", "rule", _num)]),
        ("By reviewer", "by_reviewer", [("reviewer", "reviewer", _num)]),
        ("By confidence band", "by_confidence_band", [("band", "confidence band", _num)]),
    ):
        s.append(f"<h3>{title}</h3>" + _table(so[key], [*cols, *_SIGNOFF_COLS]))

    s.append("<h2>Time to decision</h2>")
    s.append(f'<p class="note">Basis: {escape(ttd["basis"])}; percentiles interpolated linearly.</p>')
    hist = [(h["bucket"], h["count"], f"{h['count']:,}") for h in ttd["histogram"]]
    s.append(
        '<div class="charts"><figure><figcaption>Distribution of time to decision</figcaption>'
        + _bars(hist)
        + "</figure><div>"
        + _table(
            [{"queue": "all queues", **ttd["overall"]}, *ttd["by_queue"]],
            [
                ("queue", "queue", _num),
                ("count", "decided", _num),
                ("p50", "p50", _dur),
                ("p90", "p90", _dur),
                ("p99", "p99", _dur),
                ("max", "max", _dur),
            ],
        )
        + "</div></div>"
    )

    s.append("<h2>Significant decisions (GDPR Art. 22)</h2>")
    s.append(
        _table(
            [sig],
            [
                ("total", "significant decisions", _num),
                ("held_for_review", "held for review", _num),
                ("audit_sampled", "audit-sampled", _num),
                ("share_with_human_review", "with human review", _pct),
                ("share_human_review_completed", "review completed", _pct),
                ("automatic_without_review", "automatic, not sampled", _num),
            ],
        )
    )

    s.append("<h2>Audit sample of automatic decisions</h2>")
    s.append(
        _table(
            [aud],
            [
                ("automatic", "automatic", _num),
                ("sampled", "sampled", _num),
                ("sample_rate", "sample rate", _pct),
                ("reviewed", "reviewed", _num),
                ("awaiting_review", "awaiting review", _num),
                ("corrected", "corrected", _num),
                ("correction_rate", "correction rate", _pct),
            ],
        )
    )

    s.append("<h2>Policy versions active in the period</h2>")
    pol_rows = [{**p, "policy_loaded_events": ", ".join(p["policy_loaded_events"]) or "-"} for p in report["policies"]]
    s.append(
        _table(
            pol_rows,
            [
                ("name", "policy", _num),
                ("version", "version", _num),
                ("loaded_at", "loaded", _num),
                ("superseded_at", "superseded", _num),
                ("decisions_in_period", "decisions", _num),
                ("policy_loaded_events", "policy_loaded events", _num),
            ],
        )
    )
    for p in report["policies"]:
        bad = (
            ""
            if p.get("text_matches_digest", True)
            else (" <strong>: the stored text does NOT match this digest (policy_versions was edited)</strong>")
        )
        s.append(
            f'<p class="note">{escape(p["name"])} v{p["version"]} digest '
            f'<span class="hash">{escape(p["digest"])}</span>{bad}</p>'
        )

    s.append(render_calibration(report.get("calibration", [])))
    s.append(render_drift(report.get("drift", [])))

    s.extend(_reviewers_html(report.get("reviewers")))
    s.append(render_contests(report.get("contests")))
    s.append(render_personal(report.get("personal_data")))

    s.append("<h2>Audit chain</h2>")
    s.append(f'<p>{_chain_badge(chain)}</p><p class="note">{escape(chain["note"] or "")}</p>')
    s.append(
        f'<p>Head seq <b>{chain["head_seq"]:,}</b>, head hash <span class="hash">'
        f"{escape(chain['head_hash'])}</span></p>"
    )
    s.append(
        '<p class="note">Anchor the head hash outside this database (a ticket, a notary, a second '
        "store) and compare it next period: a chain alone cannot show rows cut from its end.</p>"
    )
    s.append("</main></body></html>\n")
    return "\n".join(s)


def _reviewers_html(section: Mapping[str, Any] | None) -> list[str]:
    """Reviewer engagement: approval rate per reviewer as bars, the evidence table, the flag rules."""
    if not section:
        return []
    rows = section["by_reviewer"]
    out = [
        "<h2>Reviewer engagement</h2>",
        "<p class=\"note\">Share of each reviewer's sign-offs that let the model's proposal stand.</p>",
        _bars([(r["reviewer"], r["approval_rate"] or 0.0, _pct(r["approval_rate"])) for r in rows], max_value=1.0),
    ]
    shown = [{**r, "flags": ", ".join(r["flags"]) or "-"} for r in rows]
    out.append(
        _table(
            shown,
            [
                ("reviewer", "reviewer", _num),
                ("reviews", "reviews", _num),
                ("median_claim_to_submit_seconds", "median claim to submit", _dur),
                ("approval_rate", "approval", _pct),
                ("agreement_blind", "agreement (blind)", _pct),
                ("gold_accuracy", "gold accuracy", _pct),
                ("override_ratio", "overrides vs peers", _dec),
                ("override_ratio_upper", "upper 95%", _dec),
                ("kappa", "kappa", _dec),
                ("flags", "flags", _num),
            ],
        )
    )
    rules = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in section["flag_rules"].items())
    out.append(f'<p class="note">Rubber-stamp flags and their rules:</p><ul class="note">{rules}</ul>')
    return out
