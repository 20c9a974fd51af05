"""What one signed checkpoint costs the gateway: sign, insert and commit, the file and its fsync, the log line.

The checkpointer runs this every ``--checkpoint-events`` events or ``--checkpoint-seconds``
seconds, off the serving loop; its commit takes the SQLite write lock for as long as it lasts.

Usage::

    .venv/bin/python bench/checkpoint_cost.py [--n 200]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import structlog

from audit import AuditLog, NewEvent
from audit.checkpoint import generate_key
from gateway.adapters.checkpointer import Checkpointer
from gateway.adapters.db import WRITE, make_engine, upgrade


def main() -> None:
    """Append one event, sign a checkpoint, ``--n`` times; print the mean checkpoint time."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        engine = make_engine(f"sqlite:///{d}/s.db")
        upgrade(engine)
        cp = Checkpointer(engine, generate_key("bench"), d / "cps", "bench")
        total = 0.0
        for i in range(args.n):
            with engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    AuditLog().append(
                        conn, [NewEvent(type="n", time=datetime.now(UTC), actor="a", decision_id=str(i), body={})]
                    )
            t0 = time.perf_counter()
            cp.checkpoint()
            total += time.perf_counter() - t0
        engine.dispose()
    print(
        f"{total / args.n * 1000:.2f} ms per checkpoint (sign, insert+commit, file+fsync, log), "
        f"{args.n} checkpoints, SQLite"
    )


if __name__ == "__main__":
    main()
