"""How the compliance report and a decision-id lookup scale: 10k, 100k and 1M decisions.

For each size a fresh database (a SQLite file; with ``--postgres-url`` also a fresh PostgreSQL
schema) is migrated with the real Alembic migrations and bulk-loaded, straight into the tables,
with a claims workload drawn like the seed's day (``gateway/demo.py``: ~78% automatic, 15%
junior, 7% senior, ~23% of reviews overridden, 2% of automatic decisions audited), spread over
2,000 decisions a day, with two policy versions (v2 loaded half-way). Each decision gets the
events the gateway writes for it (received, routed, claimed, submitted, finalized, sampled,
correction), chained with ``audit.chain``, so chain verification has a real log to walk.

Timed, per size and backend:

- ``report``: ``build_report`` over the whole period plus JSON encoding, without the chain walk
  (``--no-verify``), with the full walk, and with the incremental walk (from a signed
  ``verified`` checkpoint at the head minus 1% of the events, as ``signoff report --public-key``);
- ``lookup``: the median of many random decision ids, each a primary-key select on
  ``decisions`` plus that decision's events through the ``decision_id`` index;
- ``explain``: the same plus the event check and policy text (``load_trail``, what
  ``signoff audit explain`` runs).

Usage::

    .venv/bin/python bench/report_scale.py                       # 10k, 100k, 1M on SQLite
    .venv/bin/python bench/report_scale.py --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/report_scale.py --smoke               # 1k, a few seconds (CI)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, make_url, select, text

from audit.anchor import store_checkpoint
from audit.chain import chain
from audit.checkpoint import Checkpoint, generate_key, sign_checkpoint
from audit.record import NewEvent, canonical_json
from audit.schema import audit_events
from audit.store import AuditLog
from gateway.adapters.db import make_engine, upgrade
from gateway.adapters.tables import decisions
from gateway.reports import build_report, load_trail

START = datetime(2025, 1, 1, tzinfo=UTC)
PER_DAY = 2000
OUTCOMES = (("approve", 0.72), ("partial", 0.16), ("deny", 0.12))
CLAIM_TYPES = (("auto", 0.38), ("home", 0.24), ("health", 0.18), ("travel", 0.12), ("liability", 0.08))
REGIONS = ("north", "south", "east", "west", "central")
JUNIOR = [f"adjuster-j{i:02d}" for i in range(12)]
SENIOR = [f"adjuster-s{i:02d}" for i in range(6)]
AUDITORS = ["auditor-a", "auditor-b", "auditor-c"]
AUDIT_RATE = 0.02
POLICY_TEXT = (ROOT / "policies" / "claims-triage.yaml").read_text(encoding="utf-8")
POLICIES = [
    ("claims-triage", 1, "sha256:" + "1" * 64, POLICY_TEXT),
    ("claims-triage", 2, "sha256:" + "2" * 64, POLICY_TEXT.replace("version: 1", "version: 2")),
]


def _pick(rng: random.Random, table: tuple[tuple[str, float], ...], exclude: str = "") -> str:
    names = [n for n, _ in table if n != exclude]
    return rng.choices(names, weights=[w for n, w in table if n != exclude])[0]


def generate(n: int, seed: int = 7) -> Iterator[tuple[dict[str, Any], list[NewEvent], dict[str, Any] | None]]:
    """``n`` decisions as (decisions row, its events, its review task row or None)."""
    rng = random.Random(seed)
    step = 86_400 / PER_DAY
    for i in range(n):
        created = START + timedelta(seconds=i * step + rng.random() * step)
        policy = POLICIES[0] if i < n // 2 else POLICIES[1]
        amount = round(4000 * math.exp(rng.gauss(0, 1.343)), 2)
        hard = rng.random() < 0.19
        mean, conc = (0.74, 80.0) if hard else (0.975, 120.0)
        conf = round(min(max(rng.betavariate(mean * conc, (1 - mean) * conc), 0.34), 0.9999), 4)
        truth = _pick(rng, OUTCOMES)
        proposal = truth if rng.random() < conf else _pick(rng, OUTCOMES, exclude=truth)
        if amount >= 50_000:
            route, rule = "senior", "high_value"
        elif conf < 0.70:
            route, rule = "senior", "low_confidence"
        elif conf <= 0.92:
            route, rule = "junior", "review_band"
        else:
            route, rule = "auto", "confident"
        did = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        inp = {
            "amount": amount,
            "claim_type": _pick(rng, CLAIM_TYPES),
            "region": rng.choice(REGIONS),
            "policy_holder_tenure_years": min(int(rng.expovariate(1 / 6)), 40),
            "prior_claims_12m": min(int(rng.expovariate(1 / 0.4)), 9),
        }
        scores = {proposal: conf}
        row: dict[str, Any] = {
            "decision_id": did,
            "request_id": f"req-{did}",
            "request_digest": "0" * 64,
            "decision_type": "claims.payout",
            "subject_ref": f"holder-{rng.getrandbits(48):012x}",
            "input_json": canonical_json(inp),
            "proposal_outcome": proposal,
            "proposal_confidence": conf,
            "proposal_scores_json": canonical_json(scores),
            "proposal_model": "claims-gbm",
            "proposal_model_version": "2024.06",
            "proposal_explanation": "similar claims",
            "requested_by": "claims-service",
            "route": route,
            "queue": "" if route == "auto" else route,
            "rule": rule,
            "reasons_json": canonical_json([f"rule {rule}"]),
            "policy_name": policy[0],
            "policy_version": policy[1],
            "policy_digest": policy[2],
            "created_at": created,
            "significant": True,
            "final_payload_json": "{}",
            "correction_json": None,
            "contests_json": "[]",
            "gold_case_id": None,
        }
        base = {
            "time": created,
            "decision_id": did,
            "policy_name": policy[0],
            "policy_version": policy[1],
            "policy_digest": policy[2],
            "decision_type": "claims.payout",
        }
        evs = [
            NewEvent(
                type="decision_received",
                actor="claims-service",
                body={
                    "decision_type": "claims.payout",
                    "request_id": row["request_id"],
                    "subject_ref": row["subject_ref"],
                    "input": inp,
                    "proposal": {
                        "outcome": proposal,
                        "confidence": conf,
                        "scores": scores,
                        "model": "claims-gbm",
                        "model_version": "2024.06",
                    },
                },
                **base,
            ),
            NewEvent(
                type="routed",
                actor="gateway",
                body={
                    "route": route,
                    "rule": rule,
                    "significant": True,
                    "reasons": [f"rule {rule}"],
                    "failed_closed": False,
                },
                **base,
            ),
        ]
        task = None
        if route == "auto":
            sampled = rng.random() < AUDIT_RATE
            row.update(
                status="AUTO_DECIDED",
                final_outcome=proposal,
                action=None,
                reviewer="",
                review_reason="",
                decided_at=created,
                sampled=sampled,
                sample_probability=AUDIT_RATE,
            )
            evs.append(
                NewEvent(
                    type="decision_finalized",
                    actor="gateway",
                    body={"status": "AUTO_DECIDED", "final_outcome": proposal, "by": "auto"},
                    **base,
                )
            )
            if sampled:
                tid = f"t-{did}"
                done = i < n - 200
                who = rng.choice(AUDITORS)
                evs.append(
                    NewEvent(
                        type="audit_sampled",
                        actor="gateway",
                        body={"task_id": tid, "queue": "audit", "probability": AUDIT_RATE},
                        **base,
                    )
                )
                task = {
                    "task_id": tid,
                    "decision_id": did,
                    "queue": "audit",
                    "kind": "audit",
                    "state": "done" if done else "open",
                    "created_at": created,
                    "requested_by": "claims-service",
                    "claimed_by": who if done else "",
                    "claimed_at": None,
                    "lease_expires_at": None,
                }
                if done:
                    at = created + timedelta(hours=rng.uniform(2, 72))
                    action = "APPROVE" if proposal == truth else "OVERRIDE"
                    sub = dict(base, time=at)
                    evs.append(
                        NewEvent(
                            type="review_submitted",
                            actor=who,
                            body={
                                "task_id": tid,
                                "queue": "audit",
                                "kind": "audit",
                                "action": action,
                                "outcome": truth,
                                "proposal_outcome": proposal,
                                "was_override": truth != proposal,
                            },
                            **sub,
                        )
                    )
                    if action == "OVERRIDE":
                        row["correction_json"] = canonical_json(
                            {
                                "outcome": truth,
                                "action": action,
                                "payload": {},
                                "reviewer": who,
                                "reason": "audit",
                                "at": at.isoformat(),
                            }
                        )
                        evs.append(
                            NewEvent(
                                type="correction",
                                actor=who,
                                body={"original_outcome": proposal, "outcome": truth, "action": action},
                                **sub,
                            )
                        )
        else:
            tid = f"t-{did}"
            pending = i >= n - 50
            who = rng.choice(JUNIOR if route == "junior" else SENIOR)
            median = 1200 if route == "junior" else 7200
            at = created + timedelta(seconds=median * math.exp(rng.gauss(0, 0.9)))
            task = {
                "task_id": tid,
                "decision_id": did,
                "queue": route,
                "kind": "review",
                "state": "open" if pending else "done",
                "created_at": created,
                "requested_by": "claims-service",
                "claimed_by": "" if pending else who,
                "claimed_at": None if pending else at,
                "lease_expires_at": None,
            }
            if pending:
                row.update(
                    status="PENDING_REVIEW",
                    final_outcome="",
                    action=None,
                    reviewer="",
                    review_reason="",
                    decided_at=None,
                    sampled=False,
                    sample_probability=1.0,
                )
            else:
                r = rng.random()
                action, outcome = ("APPROVE", proposal) if proposal == truth else ("OVERRIDE", truth)
                if r < 0.03:
                    action, outcome = "REJECT", "rejected"
                elif r < 0.08 and action == "APPROVE":
                    action = "EDIT"
                row.update(
                    status="HUMAN_DECIDED",
                    final_outcome=outcome,
                    action=action,
                    reviewer=who,
                    review_reason="" if action == "APPROVE" else "file review",
                    decided_at=at,
                    sampled=False,
                    sample_probability=1.0,
                )
                sub = dict(base, time=at)
                evs.append(
                    NewEvent(
                        type="review_claimed", actor=who, body={"task_id": tid, "queue": route, "kind": "review"}, **sub
                    )
                )
                evs.append(
                    NewEvent(
                        type="review_submitted",
                        actor=who,
                        body={
                            "task_id": tid,
                            "queue": route,
                            "kind": "review",
                            "rule": rule,
                            "reviewer": who,
                            "action": action,
                            "outcome": outcome,
                            "proposal_outcome": proposal,
                            "confidence": conf,
                            "was_override": outcome != proposal,
                            "reason": row["review_reason"],
                            "time_to_decision_seconds": (at - created).total_seconds(),
                        },
                        **sub,
                    )
                )
                evs.append(
                    NewEvent(
                        type="decision_finalized",
                        actor=who,
                        body={"status": "HUMAN_DECIDED", "final_outcome": outcome, "action": action, "by": "human"},
                        **sub,
                    )
                )
        yield row, evs, task


# -- bulk loading -------------------------------------------------------------------------------

_DCOLS = [c.name for c in decisions.columns]
_ECOLS = [c.name for c in audit_events.columns]
_TCOLS = [
    "task_id",
    "decision_id",
    "queue",
    "kind",
    "state",
    "created_at",
    "requested_by",
    "claimed_by",
    "claimed_at",
    "lease_expires_at",
]


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, bool):
        return int(v)
    return v


def _pg_value(v: Any) -> Any:
    return v


def load(engine: Engine, n: int, batch: int = 20_000) -> float:
    """Insert ``n`` generated decisions, tasks and chained events; seconds taken."""
    t0 = time.perf_counter()
    pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    conv = _pg_value if pg else _sqlite_value
    cur = raw.cursor()
    if not pg:
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("BEGIN")
    seq, prev = 0, "0" * 64
    loaded = START - timedelta(days=1)
    half = START + timedelta(seconds=(n // 2) * 86_400 / PER_DAY)
    head_events = []
    for (name, version, digest, body), at in zip(POLICIES, (loaded, half), strict=True):
        params = (name, version, digest, "claims.payout", body, conv(at))
        if pg:
            cur.execute("INSERT INTO policy_versions VALUES (%s,%s,%s,%s,%s,%s)", params)
        else:
            cur.execute("INSERT INTO policy_versions VALUES (?,?,?,?,?,?)", params)
        head_events.append(
            NewEvent(
                type="policy_loaded",
                time=at,
                actor="gateway",
                policy_name=name,
                policy_version=version,
                policy_digest=digest,
                body={"decision_type": "claims.payout"},
            )
        )
    drows: list[tuple[Any, ...]] = []
    trows: list[tuple[Any, ...]] = []
    pending: list[NewEvent] = [head_events[0]]
    second_loaded = False

    def flush() -> None:
        nonlocal seq, prev
        chained = chain(pending, seq, prev)
        if chained:
            seq, prev = chained[-1].seq, chained[-1].hash
        erows = [tuple(conv(getattr(e, c)) for c in _ECOLS) for e in chained]
        pending.clear()
        if pg:
            with cur.copy(f"COPY decisions ({','.join(_DCOLS)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for r in drows:
                    cp.write_row(r)
            with cur.copy(f"COPY review_tasks ({','.join(_TCOLS)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for r in trows:
                    cp.write_row(r)
            with cur.copy(f"COPY audit_events ({','.join(_ECOLS)}) FROM STDIN") as cp:  # type: ignore[attr-defined]
                for r in erows:
                    cp.write_row(r)
        else:
            cur.executemany(f"INSERT INTO decisions ({','.join(_DCOLS)}) VALUES ({','.join('?' * len(_DCOLS))})", drows)
            cur.executemany(
                f"INSERT INTO review_tasks ({','.join(_TCOLS)}) VALUES ({','.join('?' * len(_TCOLS))})", trows
            )
            cur.executemany(
                f"INSERT INTO audit_events ({','.join(_ECOLS)}) VALUES ({','.join('?' * len(_ECOLS))})", erows
            )
        drows.clear()
        trows.clear()

    for i, (row, evs, task) in enumerate(generate(n)):
        if not second_loaded and row["created_at"] >= half:
            pending.append(head_events[1])
            second_loaded = True
        drows.append(tuple(conv(row[c]) for c in _DCOLS))
        pending.extend(evs)  # events in decision order; a real log interleaves by time, which costs nothing here
        if task is not None:
            trows.append(tuple(conv(task[c]) for c in _TCOLS))
        if (i + 1) % batch == 0:
            flush()
    flush()
    raw.commit()
    if pg:
        cur.execute("ANALYZE")
        raw.commit()
    else:
        cur.execute("ANALYZE")
    cur.close()
    raw.close()
    return time.perf_counter() - t0


# -- timing -------------------------------------------------------------------------------------


def _best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _lookup(engine: Engine, ids: list[str]) -> tuple[float, float]:
    """Median ms of (pk select + events by decision_id) and of load_trail, over ``ids``."""
    log = AuditLog()
    raw_t, trail_t = [], []
    with engine.connect() as conn:
        for did in ids:
            t0 = time.perf_counter()
            conn.execute(select(decisions).where(decisions.c.decision_id == did)).one()
            evs = list(log.iter_events(conn, decision_id=did))
            raw_t.append(time.perf_counter() - t0)
            assert evs
            t0 = time.perf_counter()
            trail = load_trail(conn, did)
            trail_t.append(time.perf_counter() - t0)
            assert trail is not None and trail["chain"]["verified"]
    return statistics.median(raw_t) * 1000, statistics.median(trail_t) * 1000


def run_size(engine: Engine, n: int, lookups: int) -> dict[str, Any]:
    """Load ``n`` decisions into the migrated, empty database and time everything."""
    upgrade(engine)
    load_s = load(engine, n)
    end = START + timedelta(days=n / PER_DAY + 2)
    begin = START - timedelta(days=2)

    def report(verify: bool) -> dict[str, Any]:
        r = build_report(engine, begin, end, verify=verify)
        json.dumps(r)
        return r

    first = report(False)
    assert first["volumes"]["total"] == n, first["volumes"]["total"]
    repeats = 3 if n <= 100_000 else 2
    no_verify = _best(lambda: report(False), repeats)
    verified = report(True)
    assert verified["chain"]["ok"], verified["chain"]
    with_verify = _best(lambda: report(True), 1 if n > 100_000 else repeats)
    # Incremental: a verified checkpoint signed (as `signoff audit verify --signing-key` does
    # after its walk) at the head minus 1% of the events, about a day and a half of this
    # workload: the daily report walks only what came since.
    with engine.connect() as conn:
        head_seq, _ = AuditLog().head(conn)
    at = head_seq - head_seq // 100
    key = generate_key("bench-auditor")
    with engine.begin() as conn:
        h = conn.execute(select(audit_events.c.hash).where(audit_events.c.seq == at)).scalar_one()
        cp = Checkpoint("bench/verified", at, h, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        store_checkpoint(conn, "verified", cp, sign_checkpoint(cp, key), key.verifier)

    def incremental() -> dict[str, Any]:
        r = build_report(engine, begin, end, verify=True, verifier=key.verifier)
        assert r["chain"]["ok"] and "walked" in r["chain"]["note"], r["chain"]
        json.dumps(r)
        return r

    with_incremental = _best(incremental, repeats)
    sections = _section_seconds(engine, begin, end)
    with engine.connect() as conn:
        all_ids = [r[0] for r in conn.execute(select(decisions.c.decision_id).limit(200_000))]
        events = conn.execute(select(text("count(*)")).select_from(audit_events)).scalar_one()
    rng = random.Random(11)
    ids = [rng.choice(all_ids) for _ in range(lookups)]
    lookup_ms, explain_ms = _lookup(engine, ids)
    return {
        "n": n,
        "events": events,
        "load_s": load_s,
        "report_s": no_verify,
        "report_verify_s": with_verify,
        "report_incremental_s": with_incremental,
        "lookup_ms": lookup_ms,
        "explain_ms": explain_ms,
        "automation_rate": first["volumes"]["automation_rate"],
        "override_rate": first["sign_offs"]["overall"]["override_rate"],
        "sections_s": sections,
    }


def _section_seconds(engine: Engine, begin: datetime, end: datetime) -> dict[str, float]:
    """Seconds each part of ``build_report`` takes on its own (one run each): where the time goes."""
    from gateway.reports import report as parts

    steps = {
        "volumes": parts._volume_cube,
        "sign_offs": parts._signoff_cube,
        "audit_samples": parts._audit_reviews,
        "times": parts._times,
        "calibration": parts.calibration_section,
        "drift": parts.drift_section,
        "reviewers": parts.reviewer_section,
        "contests": parts.contest_section,
        "personal_data": parts.personal_section,
    }
    out = {}
    with engine.connect() as conn:
        for name, step in steps.items():
            started = time.perf_counter()
            step(conn, begin, end)
            out[name] = round(time.perf_counter() - started, 2)
    return out


def sqlite_engine(tmp: Path, n: int) -> Engine:
    """A fresh SQLite file for size ``n``."""
    path = tmp / f"report-{n}.db"
    path.unlink(missing_ok=True)
    return make_engine(f"sqlite:///{path}")


class PgSchema:
    """A fresh PostgreSQL schema, dropped on exit."""

    def __init__(self, url: str, n: int) -> None:
        self.url, self.schema = url, f"bench_report_{n}_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(url, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> Engine:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        url = make_url(self.url).update_query_dict({"options": f"-csearch_path={self.schema}"})
        self.engine = make_engine(url.render_as_string(hide_password=False))
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        self.admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated decision counts")
    ap.add_argument("--postgres-url", default="", help="also run on this PostgreSQL (a fresh schema per size)")
    ap.add_argument("--lookups", type=int, default=500, help="random decision ids looked up per size")
    ap.add_argument("--smoke", action="store_true", help="1k decisions, SQLite only, a few seconds (CI)")
    ap.add_argument("--json", action="store_true", help="also print each result as a JSON line")
    args = ap.parse_args(argv)
    sizes = [1000] if args.smoke else [int(s) for s in args.sizes.split(",") if s.strip()]
    lookups = 50 if args.smoke else args.lookups
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.system()}"
    )
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="signoff-bench-") as tmp:
        for n in sizes:
            engine = sqlite_engine(Path(tmp), n)
            try:
                results.append(("sqlite", run_size(engine, n, lookups)))
            finally:
                engine.dispose()
                Path(tmp, f"report-{n}.db").unlink(missing_ok=True)
            _print_row(*results[-1], args.json)
            if args.postgres_url and not args.smoke:
                with PgSchema(args.postgres_url, n) as pg:
                    results.append(("postgresql", run_size(pg, n, lookups)))
                _print_row(*results[-1], args.json)
    print()
    print(
        "| backend | decisions | events | load | report (--no-verify) | report + chain verify | report + incremental verify | lookup (median) | explain (median) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend, r in results:
        print(
            f"| {backend} | {r['n']:,} | {r['events']:,} | {r['load_s']:.1f} s | {r['report_s']:.2f} s | "
            f"{r['report_verify_s']:.2f} s | {r['report_incremental_s']:.2f} s | {r['lookup_ms']:.2f} ms | {r['explain_ms']:.2f} ms |"
        )
    return 0


def _print_sections(backend: str, r: dict[str, Any]) -> None:
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in r["sections_s"].items())
    print(f"{backend:<10} n={r['n']:>9,} report parts (no walk, each run alone): {parts}")


def _print_row(backend: str, r: dict[str, Any], as_json: bool) -> None:
    print(
        f"{backend:<10} n={r['n']:>9,} events={r['events']:>9,} load {r['load_s']:7.1f} s  report {r['report_s']:6.2f} s  "
        f"report+verify {r['report_verify_s']:6.2f} s  report+incremental {r['report_incremental_s']:6.2f} s  lookup {r['lookup_ms']:5.2f} ms  explain {r['explain_ms']:5.2f} ms  "
        f"(automation {r['automation_rate']:.1%}, override {r['override_rate']:.1%})",
        flush=True,
    )
    _print_sections(backend, r)
    if as_json:
        print(json.dumps({"backend": backend, **r}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
