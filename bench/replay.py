"""Benchmark: signoff policy replay over N stored decisions (default 1M) in a fresh SQLite file.

    python bench/replay.py --rows 1000000

Fills a scratch database with claims.payout decisions (the tables' own DDL; rows written in
batches, not through the gateway), then times one replay of claims-triage with the auto
threshold moved to 0.85. Prints the fill time and the replay time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    from gateway.adapters.tables import decisions
    from gateway.policy import load_policy_text
    from gateway.reports.replay import replay

    text = (ROOT / "policies" / "claims-triage.yaml").read_text()
    text = (
        text.replace("{confidence: {lte: 0.92}}", "{confidence: {lte: 0.85}}")
        .replace("{confidence: {gt: 0.92}}", "{confidence: {gt: 0.85}}")
        .replace("  version: 1\n", "  version: 2\n")
    )
    policy = load_policy_text(text, "proposed.yaml")
    rng = np.random.default_rng(0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        decisions.metadata.create_all(engine)
        t0 = time.perf_counter()
        batch = 50_000
        for lo in range(0, args.rows, batch):
            m = min(batch, args.rows - lo)
            conf = rng.beta(12, 1.2, m)
            amount = rng.lognormal(8, 1.2, m)
            rows = []
            for j in range(m):
                c, a = float(conf[j]), float(amount[j])
                route = "senior" if a >= 50000 or c < 0.7 else "junior" if c <= 0.92 else "auto"
                held = route != "auto"
                rows.append(
                    {
                        "decision_id": f"d{lo + j}",
                        "request_id": f"r{lo + j}",
                        "request_digest": "x",
                        "decision_type": "claims.payout",
                        "subject_ref": "s",
                        "input_json": json.dumps({"amount": round(a, 2), "claim_type": "auto"}),
                        "proposal_outcome": "approve",
                        "proposal_confidence": c,
                        "proposal_scores_json": "{}",
                        "proposal_model": "claims-gbm",
                        "proposal_model_version": "1",
                        "proposal_explanation": "",
                        "requested_by": "bench",
                        "status": "HUMAN_DECIDED" if held else "AUTO_DECIDED",
                        "route": route,
                        "queue": route if held else "",
                        "rule": "r",
                        "reasons_json": "[]",
                        "policy_name": "claims-triage",
                        "policy_version": 1,
                        "policy_digest": "d",
                        "created_at": start + timedelta(seconds=(lo + j) * 2),
                        "significant": True,
                        "final_outcome": "deny" if held and rng.random() < 0.2 else "approve",
                        "final_payload_json": "{}",
                        "action": "APPROVE" if held else None,
                        "reviewer": "",
                        "review_reason": "",
                        "decided_at": None,
                        "sampled": False,
                        "sample_probability": 1.0 if held else 0.02,
                        "correction_json": None,
                    }
                )
            with engine.begin() as conn:
                conn.execute(insert(decisions), rows)
        t1 = time.perf_counter()
        print(f"filled {args.rows:,} decisions in {t1 - t0:.1f} s")
        with engine.connect() as conn:
            t2, c2 = time.perf_counter(), time.process_time()
            rep = replay(conn, policy, start, start + timedelta(days=3650))
            t3, c3 = time.perf_counter(), time.process_time()
        print(
            f"replay of {rep['decisions']:,} stored decisions: {t3 - t2:.1f} s wall, {c3 - c2:.1f} s CPU "
            f"({rep['became_automatic']['count']:,} would become automatic)"
        )


if __name__ == "__main__":
    main()
