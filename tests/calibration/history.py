"""A real gateway database filled with known decisions: automatic ones, some audited with corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert

from gateway.adapters.db import make_engine, upgrade
from gateway.adapters.tables import decisions, review_tasks

START = datetime(2026, 3, 1, tzinfo=UTC)


def _decision(i: int, conf: float, *, auto: bool, wrong: bool, audited: bool, model_version: str) -> dict:
    held = not auto
    corr = json.dumps({"outcome": "deny", "action": "OVERRIDE"}) if auto and audited and wrong else None
    return {
        "decision_id": f"d{i}",
        "request_id": f"r{i}",
        "request_digest": "x",
        "decision_type": "claims.payout",
        "subject_ref": "s",
        "input_json": json.dumps({"amount": 100.0, "claim_type": "auto"}),
        "proposal_outcome": "approve",
        "proposal_confidence": conf,
        "proposal_scores_json": "{}",
        "proposal_model": "claims-gbm",
        "proposal_model_version": model_version,
        "proposal_explanation": "",
        "requested_by": "test",
        "status": "HUMAN_DECIDED" if held else "AUTO_DECIDED",
        "route": "junior" if held else "auto",
        "queue": "junior" if held else "",
        "rule": "r",
        "reasons_json": "[]",
        "policy_name": "claims-triage",
        "policy_version": 1,
        "policy_digest": "a" * 64,
        "created_at": START + timedelta(minutes=i),
        "significant": True,
        "final_outcome": "deny" if held and wrong else "approve",
        "final_payload_json": "{}",
        "action": ("OVERRIDE" if wrong else "APPROVE") if held else None,
        "reviewer": "",
        "review_reason": "",
        "decided_at": None,
        "sampled": auto and audited,
        "sample_probability": 0.5 if auto else 1.0,
        "correction_json": corr,
    }


def fill(
    path: Path | str, *, auto: int, audited_every: int, wrong_every: int, held: int = 0, model_version: str = "1"
) -> Engine:
    """A migrated database (a SQLite file at ``path``, or the URL ``path``) with ``auto`` automatic decisions (every ``audited_every``-th audited,
    every ``wrong_every``-th wrong) and ``held`` reviewed ones (every ``wrong_every``-th overridden)."""
    engine = make_engine(path if isinstance(path, str) else f"sqlite:///{path}")
    upgrade(engine)
    rows, tasks = [], []
    for i in range(auto):
        audited = i % audited_every == 0
        rows.append(
            _decision(i, 0.95, auto=True, wrong=i % wrong_every == 0, audited=audited, model_version=model_version)
        )
        if audited:
            tasks.append(
                {
                    "task_id": f"t{i}",
                    "decision_id": f"d{i}",
                    "queue": "audit",
                    "kind": "audit",
                    "state": "done",
                    "created_at": START,
                    "requested_by": "test",
                    "claimed_by": "carol",
                    "claimed_at": None,
                    "lease_expires_at": None,
                }
            )
    for j in range(held):
        i = auto + j
        rows.append(
            _decision(i, 0.8, auto=False, wrong=j % wrong_every == 0, audited=False, model_version=model_version)
        )
    with engine.begin() as conn:
        conn.execute(insert(decisions), rows)
        if tasks:
            conn.execute(insert(review_tasks), tasks)
    return engine
