"""The figures behind ``signoff monitor``, the report's drift section and the Prometheus gauges.

Per model version of one decision type: PSI and KS of the confidence distribution against a
reference window, the share routed to each queue, overrides among reviewed cases against the
count the confidence predicts (exact Poisson interval), and the audited error of automatic
decisions against alpha with a time-uniform bound (``gateway.calibration.drift``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, select

from audit.record import iso_utc
from audit.schema import audit_events
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import review_tasks
from gateway.calibration import alarm, ks, override_check, psi
from gateway.review.alarms import ALARM_CLEARED, ALARM_RAISED

__all__ = [
    "GAUGES",
    "ROUTE_SHARE_HELP",
    "build_monitor",
    "gauge_values",
    "prometheus_text",
    "recorded_alarms",
    "render_monitor",
]

_D = decisions.c
_T = review_tasks.c


def _window(conn: Connection, decision_type: str, since: datetime, until: datetime) -> dict[str, dict[str, Any]]:
    audited = select(_T.decision_id).where(_T.kind == "audit", _T.state == "done").subquery()
    q = (
        select(
            _D.proposal_confidence,
            _D.route,
            _D.status,
            _D.proposal_outcome,
            _D.final_outcome,
            _D.correction_json,
            _D.proposal_model,
            _D.proposal_model_version,
            audited.c.decision_id,
        )
        .select_from(decisions.outerjoin(audited, audited.c.decision_id == _D.decision_id))
        .where(_D.decision_type == decision_type, and_(_D.created_at >= since, _D.created_at < until))
    )  # no ORDER BY: every figure drawn from a window is order-free (histograms, rates, PSI, KS)
    out: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"conf": [], "routes": Counter(), "rev_conf": [], "rev_over": [], "audit_err": []}
    )
    for conf, route, status, proposed, final, correction, model, version, audited_id in conn.execute(
        q.execution_options(yield_per=20000)
    ):
        m = out[f"{model}@{version}"]
        m["conf"].append(float(conf))
        m["routes"][route] += 1
        if status == "HUMAN_DECIDED":
            m["rev_conf"].append(float(conf))
            m["rev_over"].append(1.0 if final != proposed else 0.0)
        elif status == "AUTO_DECIDED" and audited_id is not None:
            corr = json.loads(correction) if correction else None
            m["audit_err"].append(1.0 if corr and corr["outcome"] != proposed else 0.0)
    return out


def build_monitor(
    conn: Connection,
    decision_type: str,
    reference: tuple[datetime, datetime],
    current: tuple[datetime, datetime],
    alpha: float | None,
    delta: float,
) -> dict[str, Any]:
    """Every monitor of ``decision_type``, per model version seen in the current window."""
    ref, cur = _window(conn, decision_type, *reference), _window(conn, decision_type, *current)
    ref_all = np.array([c for m in ref.values() for c in m["conf"]], float)
    models: dict[str, Any] = {}
    for name, m in sorted(cur.items()):
        conf = np.array(m["conf"], float)
        base = np.array(ref[name]["conf"], float) if name in ref and ref[name]["conf"] else ref_all
        total = sum(m["routes"].values())
        ref_routes = ref[name]["routes"] if name in ref else Counter()
        ref_total = sum(ref_routes.values())
        err = np.array(m["audit_err"], float)
        audited = (
            alarm(err, alpha, delta)
            if alpha is not None
            else {
                "audited": len(err),
                "errors": int(err.sum()),
                "observed_rate": float(err.mean()) if len(err) else None,
                "lower_bound": None,
                "alpha": None,
                "delta": delta,
                "alarm": False,
                "first_above_at": None,
            }
        )
        models[name] = {
            "decisions": total,
            "reference_decisions": len(base),
            "reference_basis": "same model version" if name in ref and ref[name]["conf"] else "all model versions",
            "psi": psi(base, conf),
            "ks": ks(base, conf),
            "route_share": {r: n / total for r, n in sorted(m["routes"].items())},
            "reference_route_share": {r: n / ref_total for r, n in sorted(ref_routes.items())} if ref_total else {},
            "overrides": override_check(np.array(m["rev_conf"], float), np.array(m["rev_over"], float)),
            "confidence_histogram": {
                "edges": [i / 10 for i in range(11)],
                "current": np.histogram(conf, bins=10, range=(0.0, 1.0))[0].tolist(),
                "reference": np.histogram(base, bins=10, range=(0.0, 1.0))[0].tolist(),
            },
            "audited_error": audited,
        }
    return {
        "decision_type": decision_type,
        "reference": {"since": iso_utc(reference[0]), "until": iso_utc(reference[1])},
        "current": {"since": iso_utc(current[0]), "until": iso_utc(current[1])},
        "models": models,
    }


def _f(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.2f}%" if pct else f"{v:.4f}"


def render_monitor(mon: dict[str, Any]) -> str:
    """The monitors as text."""
    lines = [
        f"monitor {mon['decision_type']}: {mon['current']['since']} .. {mon['current']['until']} "
        f"against {mon['reference']['since']} .. {mon['reference']['until']}"
    ]
    for name, m in mon["models"].items():
        ks_ = m["ks"] or {}
        lines.append(
            f"  model {name}: {m['decisions']} decisions (reference {m['reference_decisions']}, {m['reference_basis']})"
        )
        lines.append(
            f"    confidence drift: PSI {_f(m['psi'])}, KS {_f(ks_.get('statistic'))} (p {_f(ks_.get('pvalue'))})"
        )
        lines.append(
            "    route share: "
            + ", ".join(
                f"{r} {_f(s, True)} (ref {_f(m['reference_route_share'].get(r), True)})"
                for r, s in m["route_share"].items()
            )
        )
        o = m["overrides"]
        lines.append(
            f"    overrides: {o['observed']} observed in {o['reviewed']} reviewed, {o['expected']:.1f} expected "
            f"from confidence; exact Poisson {int(o['level'] * 100)}% interval "
            f"[{o['interval'][0]:.1f}, {o['interval'][1]:.1f}]" + ("  OUTSIDE" if o["outside"] else "")
        )
        a = m["audited_error"]
        state = "ALARM" if a["alarm"] else "ok"
        lines.append(
            f"    audited error of automatic decisions: {a['errors']}/{a['audited']} "
            f"(rate {_f(a['observed_rate'], True)}), time-uniform lower bound {_f(a['lower_bound'], True)} "
            f"vs alpha {_f(a['alpha'], True)}: {state}"
        )
    return "\n".join(lines) + "\n"


GAUGES = (
    ("confidence_psi", "PSI of the confidence distribution against the reference window"),
    ("confidence_ks", "Kolmogorov-Smirnov statistic of confidence against the reference window"),
    ("override_observed", "overrides among reviewed cases in the window"),
    ("override_expected", "overrides the confidence predicts among reviewed cases"),
    ("audited_error_rate", "error rate among audited automatic decisions"),
    ("audited_error_lower_bound", "time-uniform lower bound on the automatic decisions' error"),
    ("alarm", "1 while the audited error's lower bound is above alpha"),
)
"""The monitor's gauges (``signoff_monitor_<name>``, labels decision_type and model) and their help."""

ROUTE_SHARE_HELP = "share of decisions routed to each route"


def gauge_values(mon: dict[str, Any]) -> Iterator[tuple[str, tuple[str, ...], float]]:
    """``(gauge name, label values, value)`` for every figure of ``mon`` that has a value.

    ``route_share`` carries a third label, the route. One list serves the textfile and the
    gateway's own ``/metrics``.
    """
    for name, m in mon["models"].items():
        lv = (mon["decision_type"], name)
        for key, value in (
            ("confidence_psi", m["psi"]),
            ("confidence_ks", (m["ks"] or {}).get("statistic")),
            ("override_observed", m["overrides"]["observed"]),
            ("override_expected", m["overrides"]["expected"]),
            ("audited_error_rate", m["audited_error"]["observed_rate"]),
            ("audited_error_lower_bound", m["audited_error"]["lower_bound"]),
            ("alarm", 1.0 if m["audited_error"]["alarm"] else 0.0),
        ):
            if value is not None:
                yield key, lv, float(value)
        for route, share in m["route_share"].items():
            yield "route_share", (*lv, route), float(share)


def prometheus_text(mon: dict[str, Any]) -> str:
    """The monitors as Prometheus gauges (textfile-collector exposition format)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    reg = CollectorRegistry()
    labels = ["decision_type", "model"]
    g = {name: Gauge(f"signoff_monitor_{name}", doc, labels, registry=reg) for name, doc in GAUGES}
    g["route_share"] = Gauge("signoff_monitor_route_share", ROUTE_SHARE_HELP, [*labels, "route"], registry=reg)
    for key, lv, value in gauge_values(mon):
        g[key].labels(*lv).set(value)
    return generate_latest(reg).decode()


def recorded_alarms(conn: Connection, decision_type: str) -> dict[str, bool]:
    """The last alarm state the log holds per model of ``decision_type`` (raised: True)."""
    e = audit_events.c
    q = (
        select(e.type, e.body_json)
        .where(e.decision_type == decision_type, e.type.in_((ALARM_RAISED, ALARM_CLEARED)))
        .order_by(e.seq)
    )
    return {json.loads(body)["model"]: type_ == ALARM_RAISED for type_, body in conn.execute(q)}
