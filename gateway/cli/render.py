"""Plain-text rendering of decisions and tasks for people at a terminal."""

from __future__ import annotations

import json
from typing import TextIO

from gateway.rpc.convert import from_struct
from signoff.v1 import decision_pb2, review_pb2

__all__ = ["print_decision", "print_task"]


def _enum(enum: object, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix)  # type: ignore[attr-defined]


def print_decision(d: decision_pb2.Decision, out: TextIO) -> None:
    """The case, the proposal, where the policy sent it and why, and the outcome if final."""
    p = d.proposal
    lines = [
        f"decision   {d.decision_id}",
        f"status     {_enum(decision_pb2.DecisionStatus, d.status, 'DECISION_STATUS_')}",
        f"type       {d.decision_type}    subject {d.subject_ref or '-'}    request {d.request_id}",
        f"policy     {d.policy.name} v{d.policy.version} ({d.policy.digest[:12]})",
        f"route      {d.route}    rule {d.rule}",
    ]
    lines += [f"  because  {r}" for r in d.reasons]
    lines.append(f"input      {json.dumps(from_struct(d.input), sort_keys=True)}")
    scores = ", ".join(f"{k}={v:.3f}" for k, v in sorted(p.scores.items()))
    lines.append(f"proposal   {p.outcome} (confidence {p.confidence:.3f}) by {p.model or '-'} {p.model_version}")
    if scores:
        lines.append(f"  scores   {scores}")
    if p.explanation:
        lines.append(f"  why      {p.explanation}")
    if d.final_outcome:
        who = f" by {d.reviewer}" if d.reviewer else ""
        action = _enum(decision_pb2.ReviewAction, d.action, "REVIEW_ACTION_") if d.action else "AUTO"
        lines.append(f"outcome    {d.final_outcome} ({action}{who})")
        if d.review_reason:
            lines.append(f"  reason   {d.review_reason}")
    if d.sampled:
        lines.append(f"audit      drawn for human audit (p={d.sample_probability:.3f})")
    if d.HasField("correction"):
        c = d.correction
        lines.append(f"corrected  {c.outcome} by {c.reviewer}: {c.reason}")
    for k in d.contests:
        state = _enum(decision_pb2.ContestState, k.state, "CONTEST_STATE_")
        filed = k.filed_at.ToDatetime().isoformat(timespec="seconds")
        lines.append(f"contest    {state} ({k.original_outcome}) filed {filed} by {k.filed_by}: {k.statement}")
        if k.decided_by:
            lines.append(f"  heard    by {k.decided_by}: {k.outcome}; {k.reason}")
    out.write("\n".join(lines) + "\n")


def print_task(t: review_pb2.Task, out: TextIO) -> None:
    """One task as a line."""
    state = _enum(review_pb2.TaskState, t.state, "TASK_STATE_")
    kind = _enum(review_pb2.TaskKind, t.kind, "TASK_KIND_")
    created = t.created_at.ToDatetime().isoformat(timespec="seconds")
    holder = f" claimed by {t.claimed_by}" if t.claimed_by else ""
    out.write(f"{t.task_id}  {t.queue:<10} {kind:<6} {state:<7} created {created}  decision {t.decision_id}{holder}\n")
