"""Impact analysis: what a proposed policy would have done to stored decisions (read-only).

Every stored decision of the policy's type in the window is re-evaluated with the pure
evaluator on its recorded input and proposal. Nothing is written. The figures: the route
transition matrix (old to new), reviewer load per queue per day, the held decisions that would
have become automatic with what the humans actually decided on them (so known errors that would
have slipped through are counted), significant adverse outcomes that would have become
automatic, and the error in the new automatic band with the exact stratified upper bound.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, String, and_, select, type_coerce

from audit.record import canonical_json, iso_utc
from gateway.adapters.personal import KeyRing, is_sealed_json, shown_input
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import review_tasks
from gateway.calibration import stratified_upper
from gateway.policy.model import EvalRequest, Policy

__all__ = ["ROW_FIELDS", "Row", "render_markdown", "render_text", "replay", "replay_rows", "stored_rows"]

_D = decisions.c
_T = review_tasks.c


Row = tuple[Any, ...]
"""One stored decision as replay reads it, in ``ROW_FIELDS`` order."""

ROW_FIELDS = (
    "input_json",
    "proposal_outcome",
    "proposal_confidence",
    "proposal_scores_json",
    "proposal_model",
    "route",
    "status",
    "final_outcome",
    "action",
    "sample_probability",
    "correction_json",
    "created_at",
    "audited",
)


def stored_rows(conn: Connection, decision_type: str, since: datetime, until: datetime) -> Iterator[Row]:
    """The stored decisions of ``decision_type`` created in ``[since, until)``, as replay rows."""
    audited = select(_T.decision_id).where(_T.kind == "audit", _T.state == "done").subquery()
    q = (
        select(
            _D.input_json,
            _D.proposal_outcome,
            _D.proposal_confidence,
            _D.proposal_scores_json,
            _D.proposal_model,
            _D.route,
            _D.status,
            _D.final_outcome,
            _D.action,
            _D.sample_probability,
            _D.correction_json,
            type_coerce(_D.created_at, String),
            audited.c.decision_id.is_not(None),
            _D.subject_ref,
        )
        .select_from(decisions.outerjoin(audited, audited.c.decision_id == _D.decision_id))
        .where(_D.decision_type == decision_type, and_(_D.created_at >= since, _D.created_at < until))
    )
    ring = KeyRing(conn)
    for row in conn.execute(q.execution_options(yield_per=20000)):
        if is_sealed_json(row[0]):  # personal fields: opened; an erased one is absent from the input
            inp, _ = shown_input(ring, row[-1], row[0])
            yield (canonical_json(inp), *row[1:-1])
        else:
            yield row[:-1]


def replay(
    conn: Connection,
    policy: Policy,
    since: datetime,
    until: datetime,
    *,
    delta: float = 0.1,
    error_actions: frozenset[str] = frozenset({"OVERRIDE", "REJECT"}),
) -> dict[str, Any]:
    """The impact of ``policy`` on the decisions of its type created in ``[since, until)``."""
    rows = stored_rows(conn, policy.decision, since, until)
    return replay_rows(rows, policy, since, until, delta=delta, error_actions=error_actions)


def replay_rows(
    rows: Iterable[Row],
    policy: Policy,
    since: datetime,
    until: datetime,
    *,
    delta: float = 0.1,
    error_actions: frozenset[str] = frozenset({"OVERRIDE", "REJECT"}),
) -> dict[str, Any]:
    """The impact of ``policy`` on ``rows`` (from the database or an exported sample)."""
    evaluate, adverse = policy.evaluate, policy.adverse_outcomes
    transitions: Counter[tuple[str, str]] = Counter()
    load_old: Counter[tuple[str, str]] = Counter()
    load_new: Counter[tuple[str, str]] = Counter()
    became: dict[str, Any] = {
        "count": 0,
        "reviewed": 0,
        "actions": Counter(),
        "known_errors": 0,
        "adverse_proposals": 0,
        "adverse_changed_by_humans": 0,
    }
    strata: dict[float, list[int]] = {}  # pi -> [decisions, labelled, errors] in the new automatic band
    failed_closed = 0
    loads, no_scores = json.loads, ("{}", "")
    for row in rows:
        (
            input_json,
            proposal,
            confidence,
            scores_json,
            model,
            old,
            status,
            final,
            action,
            pi_recorded,
            correction_json,
            created,
            audited,
        ) = row
        route = evaluate(
            EvalRequest(
                loads(input_json), proposal, confidence, {} if scores_json in no_scores else loads(scores_json), model
            )
        )
        new = route.route
        failed_closed += route.failed_closed
        transitions[(old, new)] += 1
        day = created[:10] if isinstance(created, str) else created.astimezone(UTC).date().isoformat()
        if old != "auto":
            load_old[(day, old)] += 1
        if new != "auto":
            load_new[(day, new)] += 1
            continue
        action = action or ""
        labelled = status == "HUMAN_DECIDED"
        if not labelled and status == "AUTO_DECIDED" and audited:
            corr = loads(correction_json) if correction_json else None
            labelled, final, action = (
                True,
                (corr["outcome"] if corr else final),
                (corr["action"] if corr else "APPROVE"),
            )
        wrong = labelled and (final != proposal or action in error_actions)
        pi = 1.0 if status == "HUMAN_DECIDED" or old != "auto" else float(pi_recorded)
        s = strata.setdefault(pi, [0, 0, 0])
        s[0] += 1
        s[1] += labelled
        s[2] += wrong
        if old != "auto":
            became["count"] += 1
            is_adverse = policy.significant and proposal in adverse
            became["adverse_proposals"] += is_adverse
            if status == "HUMAN_DECIDED":
                became["reviewed"] += 1
                became["actions"][action] += 1
                became["known_errors"] += wrong
                became["adverse_changed_by_humans"] += bool(is_adverse and wrong)
    total = sum(transitions.values())
    keys = sorted(strata)
    N = np.array([[strata[k][0]] for k in keys], float).reshape(len(keys), 1)
    n = np.array([[strata[k][1]] for k in keys], float).reshape(len(keys), 1)
    k = np.array([[strata[k][2]] for k in keys], float).reshape(len(keys), 1)
    n_auto = float(N.sum())
    estimate = (
        float(sum(N[i, 0] / n_auto * (k[i, 0] / n[i, 0]) for i in range(len(keys)) if n[i, 0])) if n_auto else None
    )
    days = sorted({d for d, _ in load_old} | {d for d, _ in load_new})
    queues = sorted({q for _, q in load_old} | {q for _, q in load_new})
    return {
        "decision_type": policy.decision,
        "proposed": {"name": policy.name, "version": policy.version, "digest": policy.ref.digest},
        "window": {"since": iso_utc(since), "until": iso_utc(until)},
        "decisions": total,
        "failed_closed": failed_closed,
        "transitions": [{"from": a, "to": b, "count": c} for (a, b), c in sorted(transitions.items())],
        "automation_rate": {
            "old": sum(c for (a, _), c in transitions.items() if a == "auto") / total if total else None,
            "new": n_auto / total if total else None,
        },
        "load_per_day": [
            {"day": d, "queue": q, "old": load_old[(d, q)], "new": load_new[(d, q)]} for d in days for q in queues
        ],
        "became_automatic": {**became, "actions": dict(sorted(became["actions"].items()))},
        "left_automatic": sum(c for (a, b), c in transitions.items() if a == "auto" and b != "auto"),
        "new_auto_band": {
            "decisions": int(n_auto),
            "labelled": int(n.sum()),
            "errors": int(k.sum()),
            "estimated_error": estimate,
            "delta": delta,
            "upper_bound": float(stratified_upper(N, n, k, delta)[0]) if n_auto else None,
            "strata": [
                {"pi": p, "decisions": strata[p][0], "labelled": strata[p][1], "errors": strata[p][2]} for p in keys
            ],
        },
    }


def _p(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _lines(rep: dict[str, Any]) -> list[tuple[str, str]]:
    b, band = rep["became_automatic"], rep["new_auto_band"]
    return [
        ("automation rate", f"{_p(rep['automation_rate']['old'])} -> {_p(rep['automation_rate']['new'])}"),
        ("held decisions that would have become automatic", f"{b['count']}"),
        (
            "  of them reviewed by a human",
            f"{b['reviewed']} ({', '.join(f'{a} {c}' for a, c in b['actions'].items()) or '-'})",
        ),
        ("  known errors that would have slipped through", f"{b['known_errors']}"),
        (
            "  significant adverse proposals that would be automatic",
            f"{b['adverse_proposals']} (humans changed {b['adverse_changed_by_humans']})",
        ),
        ("automatic decisions that would go to review", f"{rep['left_automatic']}"),
        (
            "error in the new automatic band",
            f"estimate {_p(band['estimated_error'])}, upper bound "
            f"{_p(band['upper_bound'])} at confidence {1 - band['delta']:.3g} ({band['errors']} errors in "
            f"{band['labelled']} labelled of {band['decisions']})",
        ),
    ]


def render_text(rep: dict[str, Any]) -> str:
    """The impact as plain text."""
    p = rep["proposed"]
    out = [
        f"replay of {p['name']} v{p['version']} (sha256:{p['digest'][:12]}) on {rep['decisions']} "
        f"{rep['decision_type']} decisions, {rep['window']['since']} .. {rep['window']['until']}",
        "route transitions (old -> new):",
    ]
    out += [f"  {t['from']:>10} -> {t['to']:<10} {t['count']}" for t in rep["transitions"]]
    out += [f"{k}: {v}" for k, v in _lines(rep)]
    out.append("reviewer load per queue per day (old -> new):")
    out += [f"  {r['day']} {r['queue']:<10} {r['old']} -> {r['new']}" for r in rep["load_per_day"]]
    return "\n".join(out) + "\n"


def render_markdown(rep: dict[str, Any]) -> str:
    """The impact as Markdown for a pull-request comment."""
    p = rep["proposed"]
    out = [
        f"### Policy replay: {p['name']} v{p['version']}",
        f"{rep['decisions']} `{rep['decision_type']}` decisions, {rep['window']['since']} .. {rep['window']['until']}"
        f", replayed with the proposed policy (sha256 `{p['digest'][:12]}`). Nothing was written.",
        "",
        "| old route | new route | decisions |",
        "|---|---|---:|",
    ]
    out += [f"| {t['from']} | {t['to']} | {t['count']} |" for t in rep["transitions"]]
    out += ["", "| figure | value |", "|---|---|"]
    out += [f"| {k.strip()} | {v} |" for k, v in _lines(rep)]
    out += ["", "| day | queue | old load | new load |", "|---|---|---:|---:|"]
    out += [f"| {r['day']} | {r['queue']} | {r['old']} | {r['new']} |" for r in rep["load_per_day"]]
    return "\n".join(out) + "\n"
