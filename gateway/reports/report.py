"""The period compliance report: every figure an auditor asks for, aggregated in SQL.

The figures come from the ``decisions`` table (one row per decision, its final state), grouped
by the database: two ``GROUP BY`` scans give a cube at the finest grain the report needs (a few
thousand rows at most), which is then rolled up here. Times to decision are streamed as one
column of seconds and sorted in memory; JSON bodies are never parsed, so a million decisions
take seconds. The audit log contributes the ``policy_loaded`` events and the chain check.

The period is half-open, ``[start, end)``, on each decision's ``created_at``: a decision belongs
to the period it was asked for in, whatever happened to it later.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, cast, func, literal, select
from sqlalchemy.types import Float

from audit.anchor import incremental_start
from audit.checkpoint import VerifierKey
from audit.parallel import verify_range
from audit.record import iso_utc
from audit.schema import audit_events, policy_versions
from audit.store import AuditLog
from audit.verify import VerifyReport
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import review_tasks
from gateway.policy.loader import text_digest
from gateway.reports.calibration_section import calibration_section
from gateway.reports.contest_section import contest_section
from gateway.reports.drift_section import drift_section
from gateway.reports.personal_section import personal_section
from gateway.reports.reviewers import reviewer_section

__all__ = [
    "ACTIONS",
    "BANDS",
    "TTD_BUCKETS",
    "band_of",
    "build_report",
    "percentile",
]

_D = decisions.c
_T = review_tasks.c
_E = audit_events.c
_P = policy_versions.c

ACTIONS = ("APPROVE", "EDIT", "OVERRIDE", "REJECT")
"""What a reviewer can do with a proposal."""

BANDS: tuple[tuple[str, float], ...] = (
    ("[0.00,0.50)", 0.5),
    ("[0.50,0.70)", 0.7),
    ("[0.70,0.80)", 0.8),
    ("[0.80,0.90)", 0.9),
    ("[0.90,0.92]", 0.92),
    ("(0.92,1.00]", math.inf),
)
"""Confidence bands: each is below its bound (the fifth includes 0.92, the routing threshold)."""

TTD_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 min", 60.0),
    ("1-5 min", 300.0),
    ("5-15 min", 900.0),
    ("15-60 min", 3600.0),
    ("1-4 h", 14_400.0),
    ("4-24 h", 86_400.0),
    ("> 1 day", math.inf),
)
"""Histogram buckets of time to decision, in seconds (upper bound exclusive)."""

_FINAL_HUMAN = "HUMAN_DECIDED"


def band_of(confidence: float) -> str:
    """The confidence band label of ``confidence`` (the same edges as the SQL ``CASE``)."""
    for label, bound in BANDS:
        if confidence < bound or (bound == 0.92 and confidence <= bound):
            return label
    return BANDS[-1][0]


def _band_sql() -> Any:
    c = _D.proposal_confidence
    whens = [(c < bound, label) for label, bound in BANDS[:4]]
    whens.append((c <= 0.92, BANDS[4][0]))
    return case(*whens, else_=literal(BANDS[5][0]))


def _seconds_sql(conn: Connection) -> Any:
    """Seconds from ``created_at`` to ``decided_at`` in the database's own arithmetic."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(_D.decided_at) - func.julianday(_D.created_at)) * 86_400.0
    return cast(func.extract("epoch", _D.decided_at - _D.created_at), Float)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile ``q`` (0-100) of sorted values (PostgreSQL percentile_cont)."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _rate(num: float, den: float) -> float | None:
    return None if not den else num / den


def _in_period(start: datetime, end: datetime) -> Any:
    return and_(_D.created_at >= start, _D.created_at < end)


# -- the two cubes ----------------------------------------------------------------------------


def _volume_cube(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    dims = (
        _D.decision_type,
        _D.route,
        _D.queue,
        _D.status,
        _D.significant,
        _D.sampled,
        (_D.correction_json.is_not(None)).label("corrected"),
        _D.policy_name,
        _D.policy_version,
        _D.policy_digest,
    )
    stmt = (
        select(
            *dims,
            func.count().label("n"),
            func.min(_D.created_at).label("first"),
            func.max(_D.created_at).label("last"),
        )
        .where(_in_period(start, end))
        .group_by(*dims)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _signoff_cube(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    band = _band_sql().label("band")
    dims = (_D.policy_name, _D.policy_version, _D.queue, _D.rule, _D.reviewer, band, _D.action)
    stmt = (
        select(*dims, func.count().label("n")).where(_in_period(start, end), _D.status == _FINAL_HUMAN).group_by(*dims)
    )
    return [dict(r._mapping) for r in conn.execute(stmt)]


def _audit_reviews(conn: Connection, start: datetime, end: datetime) -> dict[str, int]:
    """Audit tasks of automatic decisions in the period that a person has submitted, by type."""
    stmt = (
        select(_D.decision_type, func.count().label("n"))
        .select_from(review_tasks.join(decisions, _T.decision_id == _D.decision_id))
        .where(_T.kind == "audit", _T.state == "done", _in_period(start, end))
        .group_by(_D.decision_type)
    )
    return {r.decision_type: int(r.n) for r in conn.execute(stmt)}


def _times(conn: Connection, start: datetime, end: datetime) -> dict[str, list[float]]:
    secs = _seconds_sql(conn).label("s")
    stmt = select(_D.queue, secs).where(_in_period(start, end), _D.status == _FINAL_HUMAN, _D.decided_at.is_not(None))
    out: dict[str, list[float]] = defaultdict(list)
    for queue, s in conn.execute(stmt.execution_options(yield_per=20_000)):
        out[queue].append(max(round(float(s), 3), 0.0))  # ms: SQLite's julianday carries ~20 µs of noise
    return out


# -- roll-ups ---------------------------------------------------------------------------------


def _signoff_row(key: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    reviewed = sum(counts.get(a, 0) for a in ACTIONS)
    row: dict[str, Any] = dict(key)
    row["reviewed"] = reviewed
    for action, name in zip(ACTIONS, ("approved", "edited", "overridden", "rejected"), strict=True):
        row[name] = counts.get(action, 0)
    row["override_rate"] = _rate(row["overridden"], reviewed)
    row["edit_rate"] = _rate(row["edited"], reviewed)
    row["reject_rate"] = _rate(row["rejected"], reviewed)
    row["changed_rate"] = _rate(row["edited"] + row["overridden"] + row["rejected"], reviewed)
    return row


def _roll_signoffs(cube: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in cube:
        groups[tuple(r[k] for k in keys)][r["action"]] += int(r["n"])
    order = [b for b, _ in BANDS]
    sort = (lambda k: order.index(k[0])) if keys == ("band",) else (lambda k: tuple(str(v) for v in k))
    return [_signoff_row(dict(zip(keys, k, strict=True)), groups[k]) for k in sorted(groups, key=sort)]


def _ttd_summary(values: list[float]) -> dict[str, Any]:
    values.sort()
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "mean": (sum(values) / len(values)) if values else None,
        "max": values[-1] if values else None,
    }


def _histogram(values: Iterable[float]) -> list[dict[str, Any]]:
    counts = [0] * len(TTD_BUCKETS)
    for v in values:
        for i, (_, bound) in enumerate(TTD_BUCKETS):
            if v < bound:
                counts[i] += 1
                break
    return [{"bucket": label, "count": c} for (label, _), c in zip(TTD_BUCKETS, counts, strict=True)]


def _volumes(cube: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(r["n"] for r in cube)
    auto = sum(r["n"] for r in cube if r["route"] == "auto")
    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_route: dict[tuple[str, str], int] = defaultdict(int)
    by_status: dict[str, int] = defaultdict(int)
    for r in cube:
        by_type[r["decision_type"]][0] += r["n"]
        by_type[r["decision_type"]][1] += r["n"] if r["route"] == "auto" else 0
        by_route[(r["decision_type"], r["route"])] += r["n"]
        by_status[r["status"]] += r["n"]
    return {
        "total": total,
        "automatic": auto,
        "held": total - auto,
        "automation_rate": _rate(auto, total),
        "by_decision_type": [
            {"decision_type": t, "total": n, "automatic": a, "held": n - a, "automation_rate": _rate(a, n)}
            for t, (n, a) in sorted(by_type.items())
        ],
        "by_route": [
            {"decision_type": t, "route": route, "count": n, "share": _rate(n, by_type[t][0])}
            for (t, route), n in sorted(by_route.items())
        ],
        "by_status": [{"status": s, "count": n} for s, n in sorted(by_status.items())],
    }


def _queues(cube: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    q: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in cube:
        if r["route"] != "auto":
            q[r["queue"]][r["status"]] += r["n"]
    rows = []
    for queue in sorted(q):
        s = q[queue]
        held = sum(s.values())
        rows.append(
            {
                "queue": queue,
                "held": held,
                "review_rate": _rate(held, total),
                "human_decided": s.get(_FINAL_HUMAN, 0),
                "pending": s.get("PENDING_REVIEW", 0),
                "in_review": s.get("IN_REVIEW", 0),
                "expired": s.get("EXPIRED", 0),
                "completion_rate": _rate(s.get(_FINAL_HUMAN, 0), held),
            }
        )
    return rows


def _significant(cube: list[dict[str, Any]], audit_done: Mapping[str, int]) -> dict[str, Any]:
    sig = [r for r in cube if r["significant"]]
    total = sum(r["n"] for r in sig)
    held = sum(r["n"] for r in sig if r["route"] != "auto")
    sampled = sum(r["n"] for r in sig if r["route"] == "auto" and r["sampled"])
    decided = sum(r["n"] for r in sig if r["status"] == _FINAL_HUMAN)
    sig_types = {r["decision_type"] for r in sig}
    audited = sum(n for t, n in audit_done.items() if t in sig_types)
    return {
        "total": total,
        "held_for_review": held,
        "audit_sampled": sampled,
        "with_human_review": held + sampled,
        "share_with_human_review": _rate(held + sampled, total),
        "human_review_completed": decided + audited,
        "share_human_review_completed": _rate(decided + audited, total),
        "automatic_without_review": total - held - sampled,
    }


def _audit(cube: list[dict[str, Any]], audit_done: Mapping[str, int]) -> dict[str, Any]:
    auto = [r for r in cube if r["route"] == "auto"]
    automatic = sum(r["n"] for r in auto)
    sampled = sum(r["n"] for r in auto if r["sampled"])
    corrected = sum(r["n"] for r in auto if r["sampled"] and r["corrected"])
    reviewed = sum(audit_done.values())
    return {
        "automatic": automatic,
        "sampled": sampled,
        "sample_rate": _rate(sampled, automatic),
        "reviewed": reviewed,
        "awaiting_review": sampled - reviewed,
        "corrected": corrected,
        "correction_rate": _rate(corrected, reviewed),
    }


def _policies(conn: Connection, cube: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Versions in force during the period (by load time) or that decided something in it."""
    used: dict[tuple[str, int], dict[str, Any]] = {}
    for r in cube:
        k = (r["policy_name"], int(r["policy_version"]))
        u = used.setdefault(k, {"n": 0, "first": r["first"], "last": r["last"], "digest": r["policy_digest"]})
        u["n"] += r["n"]
        u["first"], u["last"] = min(u["first"], r["first"]), max(u["last"], r["last"])
    loads: dict[tuple[str, int], list[datetime]] = defaultdict(list)
    stmt = select(_E.time, _E.policy_name, _E.policy_version).where(_E.type == "policy_loaded").order_by(_E.seq)
    for t, name, version in conn.execute(stmt):
        loads[(name, int(version))].append(t)
    stored = AuditLog().list_policies(conn)
    by_name: dict[str, list[Any]] = defaultdict(list)
    for p in stored:
        by_name[p.name].append(p)
    rows = []
    for _name, versions in sorted(by_name.items()):
        versions.sort(key=lambda p: p.loaded_at)
        for i, p in enumerate(versions):
            until = versions[i + 1].loaded_at if i + 1 < len(versions) else None
            in_force = p.loaded_at < end and (until is None or until > start)
            found = used.get((p.name, p.version))
            if not in_force and found is None:
                continue
            rows.append(
                {
                    "name": p.name,
                    "version": p.version,
                    "digest": p.digest,
                    "decision_type": p.decision_type,
                    "text_matches_digest": text_digest(p.text) == p.digest
                    and (found is None or found["digest"] == p.digest),
                    "loaded_at": iso_utc(p.loaded_at),
                    "superseded_at": None if until is None else iso_utc(until),
                    "policy_loaded_events": [iso_utc(t) for t in loads.get((p.name, p.version), [])],
                    "decisions_in_period": 0 if found is None else found["n"],
                    "first_decision": None if found is None else iso_utc(found["first"]),
                    "last_decision": None if found is None else iso_utc(found["last"]),
                }
            )
    known = {(r["name"], r["version"]) for r in rows}
    for (name, version), u in sorted(used.items()):
        if (name, version) not in known:  # decided by a version whose text was never stored
            rows.append(
                {
                    "name": name,
                    "version": version,
                    "digest": u["digest"],
                    "decision_type": "",
                    "loaded_at": None,
                    "superseded_at": None,
                    "policy_loaded_events": [],
                    "decisions_in_period": u["n"],
                    "first_decision": iso_utc(u["first"]),
                    "last_decision": iso_utc(u["last"]),
                }
            )
    return sorted(rows, key=lambda r: (r["name"], r["version"]))


def _chain(engine: Engine, verify: bool, verifier: VerifierKey | None = None) -> dict[str, Any]:
    log = AuditLog()
    if not verify:
        with engine.connect() as conn:
            seq, digest = log.head(conn)
        return {
            "verified": False,
            "ok": None,
            "note": "not verified (--no-verify)",
            "count": None,
            "head_seq": seq,
            "head_hash": digest,
            "first_bad_seq": None,
            "problem": None,
        }
    if verifier is not None:  # walk only what came after the last head verified and signed
        with engine.connect() as conn:
            cp = incremental_start(conn, verifier)
            if cp is not None:
                rep = verify_range(log, conn, cp.size, None)
                rep = VerifyReport(
                    rep.ok, cp.size + rep.count, rep.head_seq, rep.head_hash, rep.first_bad_seq, rep.problem
                )
                note = (
                    f"{rep}; seq 1..{cp.size} verified at {cp.time} ({verifier.name}+{verifier.id.hex()}), "
                    f"walked {cp.size + 1}..{rep.head_seq}"
                )
                return {
                    "verified": True,
                    "ok": rep.ok,
                    "note": note,
                    "count": rep.count,
                    "head_seq": rep.head_seq,
                    "head_hash": rep.head_hash,
                    "first_bad_seq": rep.first_bad_seq,
                    "problem": rep.problem,
                }
    rep = log.verify(engine)
    return {
        "verified": True,
        "ok": rep.ok,
        "note": str(rep),
        "count": rep.count,
        "head_seq": rep.head_seq,
        "head_hash": rep.head_hash,
        "first_bad_seq": rep.first_bad_seq,
        "problem": rep.problem,
    }


def build_report(
    engine: Engine,
    start: datetime,
    end: datetime,
    *,
    verify: bool = True,
    generated_at: datetime | None = None,
    source: str = "",
    verifier: VerifierKey | None = None,
) -> dict[str, Any]:
    """Every figure of the compliance report for decisions created in ``[start, end)``.

    With ``verifier``, the chain walk starts after the newest ``verified`` checkpoint signed by
    that key (``signoff audit verify --signing-key``) whose hash still matches the chain.
    """
    with engine.connect() as conn:
        vcube = _volume_cube(conn, start, end)
        scube = _signoff_cube(conn, start, end)
        audit_done = _audit_reviews(conn, start, end)
        times = _times(conn, start, end)
        policies = _policies(conn, vcube, start, end)
        calibration = calibration_section(conn, start, end)
        drift = drift_section(conn, start, end)
        reviewers = reviewer_section(conn, start, end)
        contests = contest_section(conn, start, end)
        personal = personal_section(conn, start, end)
    volumes = _volumes(vcube)
    all_times = [t for ts in times.values() for t in ts]
    histogram = _histogram(all_times)
    report: dict[str, Any] = {
        "title": "Signoff compliance report",
        "period": {"from": iso_utc(start), "to": iso_utc(end), "basis": "decisions created in [from, to)"},
        "generated_at": iso_utc(generated_at or datetime.now(UTC)),
        "source": source,
        "volumes": volumes,
        "review_by_queue": _queues(vcube, volumes["total"]),
        "sign_offs": {
            "basis": "held decisions signed off by a person (audit-sample reviews: see audit_samples)",
            "overall": _roll_signoffs(scube, ())[0] if scube else _signoff_row({}, {}),
            "by_policy_version": _roll_signoffs(scube, ("policy_name", "policy_version")),
            "by_queue": _roll_signoffs(scube, ("queue",)),
            "by_rule": _roll_signoffs(scube, ("rule",)),
            "by_reviewer": _roll_signoffs(scube, ("reviewer",)),
            "by_confidence_band": _roll_signoffs(scube, ("band",)),
        },
        "time_to_decision": {
            "unit": "seconds",
            "basis": "held decisions from receipt to human sign-off",
            "overall": _ttd_summary(all_times),
            "by_queue": [{"queue": q, **_ttd_summary(v)} for q, v in sorted(times.items())],
            "histogram": histogram,
        },
        "significant": _significant(vcube, audit_done),
        "audit_samples": _audit(vcube, audit_done),
        "policies": policies,
        "calibration": calibration,
        "drift": drift,
        "reviewers": reviewers,
        "contests": contests,
        "personal_data": personal,
        "chain": _chain(engine, verify, verifier),
    }
    return report
