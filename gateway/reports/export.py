"""Human labels for retraining, each with its inclusion probability and Horvitz-Thompson weight.

Two label sources, both read from the state tables in SQL:

- ``review``: a held decision a person signed off. Every held decision is reviewed, so its
  inclusion probability is 1 (the row's recorded ``sample_probability``).
- ``audit_sample``: an automatic decision drawn for audit with the recorded probability
  ``sample_probability`` (the policy's ``audit_auto_rate`` at the time), once its audit review
  is submitted. The label is the correction's outcome if the auditor changed it, else the
  automatic outcome, confirmed.

``weight = 1 / pi``: a trainer weighting each row by it sees the automatic band at its true
share of traffic instead of the 2% that happened to be audited.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from audit.record import iso_utc
from gateway.adapters.personal import KeyRing, is_sealed_json, shown_input
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import review_tasks

__all__ = ["FIELDS", "feedback_rows"]

_D = decisions.c
_T = review_tasks.c

FIELDS = (
    "decision_id",
    "decision_type",
    "created_at",
    "input",
    "proposal_outcome",
    "proposal_confidence",
    "proposal_scores",
    "model",
    "model_version",
    "final_outcome",
    "action",
    "was_override",
    "reviewer_tier",
    "policy_name",
    "policy_version",
    "route",
    "label_source",
    "pi",
    "weight",
    "erased_fields",
    "blind_review",
)
"""The columns of a feedback row, in order."""

_COLS = (
    _D.decision_id,
    _D.decision_type,
    _D.created_at,
    _D.input_json,
    _D.proposal_outcome,
    _D.proposal_confidence,
    _D.proposal_scores_json,
    _D.proposal_model,
    _D.proposal_model_version,
    _D.final_outcome,
    _D.action,
    _D.queue,
    _D.policy_name,
    _D.policy_version,
    _D.route,
    _D.sample_probability,
    _D.correction_json,
    _D.subject_ref,
    # Labelled blind-first: the reviewer named an outcome before seeing the proposal (the least
    # anchored labels the system has).
    exists()
    .where(review_tasks.c.decision_id == _D.decision_id, review_tasks.c.blind.is_(True))
    .correlate(decisions)
    .label("blind_review"),
)


def _row(r: Any, label_source: str, tier: str, ring: KeyRing) -> dict[str, Any]:
    if label_source == "review":
        outcome, action, pi = r.final_outcome, r.action, 1.0
    else:
        correction = json.loads(r.correction_json) if r.correction_json else None
        outcome = correction["outcome"] if correction else r.final_outcome
        action = correction["action"] if correction else "APPROVE"
        pi = float(r.sample_probability)
    # Personal fields are exported opened; a subject's erased fields are left out of the row (its
    # label, the human's correction, stays: a retraining set without erased subjects' corrections
    # would be biased against the people who asked to be forgotten) and named in erased_fields.
    inp, erased = shown_input(ring, r.subject_ref, r.input_json) if is_sealed_json(r.input_json) else (None, [])
    return {
        "decision_id": r.decision_id,
        "decision_type": r.decision_type,
        "created_at": iso_utc(r.created_at),
        "input": json.loads(r.input_json) if inp is None else inp,
        "proposal_outcome": r.proposal_outcome,
        "proposal_confidence": r.proposal_confidence,
        "proposal_scores": json.loads(r.proposal_scores_json),
        "model": r.proposal_model,
        "model_version": r.proposal_model_version,
        "final_outcome": outcome,
        "action": action,
        "was_override": outcome != r.proposal_outcome,
        "reviewer_tier": tier,
        "policy_name": r.policy_name,
        "policy_version": r.policy_version,
        "route": r.route,
        "label_source": label_source,
        "pi": pi,
        "weight": 1.0 / pi if pi > 0 else math.inf,
        "erased_fields": ",".join(erased),
        "blind_review": bool(r.blind_review),
    }


def feedback_rows(conn: Connection, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """Labelled rows for decisions created in ``[since, until)``: reviews, then audit samples."""
    period = and_(_D.created_at >= since, _D.created_at < until)
    held = select(*_COLS).where(period, _D.status == "HUMAN_DECIDED").order_by(_D.created_at, _D.decision_id)
    ring = KeyRing(conn)
    for r in conn.execute(held.execution_options(yield_per=5000)):
        yield _row(r, "review", r.queue, ring)
    audited = (
        select(*_COLS, _T.queue.label("task_queue"))
        .select_from(decisions.join(review_tasks, _T.decision_id == _D.decision_id))
        .where(period, _T.kind == "audit", _T.state == "done")
        .order_by(_D.created_at, _D.decision_id)
    )
    for r in conn.execute(audited.execution_options(yield_per=5000)):
        yield _row(r, "audit_sample", r.task_queue, ring)


def write_parquet(rows: list[dict[str, Any]], path: str) -> int:
    """Write ``rows`` as Parquet (pyarrow), flattening ``input.*`` and ``score.*`` into columns.

    A feature whose values mix types no Arrow column can hold is written as JSON text.
    Raises ``ImportError`` when pyarrow is not installed. Returns the number of rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = [c for c in FIELDS if c not in ("input", "proposal_scores")]
    columns: dict[str, Any] = {c: [r.get(c) for r in rows] for c in flat}  # older rows lack newer columns
    for prefix, field in (("input.", "input"), ("score.", "proposal_scores")):
        names = sorted({k for r in rows for k in r[field]})
        for name in names:
            values = [r[field].get(name) for r in rows]
            try:
                columns[prefix + name] = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                columns[prefix + name] = pa.array(
                    [None if v is None else json.dumps(v, sort_keys=True) for v in values], pa.string()
                )
    schema_types = {
        "policy_version": pa.int64(),
        "pi": pa.float64(),
        "weight": pa.float64(),
        "proposal_confidence": pa.float64(),
        "was_override": pa.bool_(),
        "blind_review": pa.bool_(),
    }
    arrays = {
        k: v if isinstance(v, pa.Array) else pa.array(v, schema_types.get(k, pa.string())) for k, v in columns.items()
    }
    pq.write_table(pa.table(arrays), path)
    return len(rows)
