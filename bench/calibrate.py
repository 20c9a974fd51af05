"""Benchmark: signoff calibrate's statistics over N labelled rows (default 1M), in process.

    python bench/calibrate.py --rows 1000000

Times (1) the certificate (fixed-sequence LTT over the default 100-point grid with the stratified
bound, plus ECE/Brier) on columns already in memory, and (2) reading the same rows from a Parquet
feedback export through the checked reader. Prints one line per stage.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-file", action="store_true", help="time the statistics only")
    args = ap.parse_args()
    from gateway.calibration import Labelled, build, grid, quality

    rng = np.random.default_rng(0)
    n = args.rows
    conf = np.round(rng.beta(12, 1.2, n), 4)
    err = (rng.random(n) < 1.3 * (1 - conf)).astype(float)
    pi = np.where(conf > 0.92, 0.2, 1.0)
    t0, c0 = time.perf_counter(), time.process_time()
    data = Labelled(conf, err, pi)
    cert = build(data, grid(0.5, 0.995, 0.005), alpha=0.05, delta=0.1, meta={"decision_type": "bench"})
    q = quality(conf, err, pi)
    t1, c1 = time.perf_counter(), time.process_time()
    print(
        f"certificate over {n:,} labelled rows: {t1 - t0:.2f} s wall, {c1 - c0:.2f} s CPU (threshold {cert['threshold']}, ECE {q['ece']:.4f})"
    )
    if args.skip_file:
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    from gateway.reports.labelled import read_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feedback.parquet"
        pq.write_table(
            pa.table(
                {
                    "decision_type": pa.array(["bench"] * n),
                    "created_at": pa.array(["2026-01-01T00:00:00.000000Z"] * n),
                    "proposal_outcome": pa.array(["approve"] * n),
                    "proposal_confidence": conf,
                    "model": pa.array(["m"] * n),
                    "model_version": pa.array(["1"] * n),
                    "final_outcome": pa.array(np.where(err > 0, "deny", "approve")),
                    "policy_name": pa.array(["p"] * n),
                    "policy_version": pa.array(np.ones(n, np.int64)),
                    "route": pa.array(["auto"] * n),
                    "label_source": pa.array(["review"] * n),
                    "pi": pi,
                    "action": pa.array(["APPROVE"] * n),
                }
            ),
            path,
        )
        t2, c2 = time.perf_counter(), time.process_time()
        hist = read_file(path, None, None, None)
        t3 = time.perf_counter()
        build(
            Labelled(hist.conf, hist.err, hist.pi),
            grid(0.5, 0.995, 0.005),
            alpha=0.05,
            delta=0.1,
            meta={"decision_type": "bench"},
        )
        t4, c4 = time.perf_counter(), time.process_time()
    print(
        f"read + check {n:,} rows from Parquet, then certify: {t4 - t2:.2f} s wall, {c4 - c2:.2f} s CPU "
        f"(read {t3 - t2:.2f} s, certificate {t4 - t3:.2f} s)"
    )


if __name__ == "__main__":
    main()
