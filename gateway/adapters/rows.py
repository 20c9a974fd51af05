"""Mapping between domain records and table rows, kept apart so the store reads as SQL only.

JSON-valued fields are canonical JSON text; enums are stored by value; times are aware UTC.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from audit import PolicyRecord, canonical_json, iso_utc
from gateway.policy.model import PolicyRef
from gateway.review.gold import StoredGold
from gateway.review.model import (
    Action,
    Contest,
    Correction,
    Decision,
    Proposal,
    Status,
    Task,
    TaskKind,
    TaskState,
)
from gateway.review.ports import StoredPolicy
from gateway.review.quorum import Vote

__all__ = [
    "contests_json",
    "decision_from_row",
    "decision_values",
    "gold_from_row",
    "gold_values",
    "stored_policy",
    "task_from_row",
    "task_values",
    "votes_json",
]


def _correction_json(c: Correction | None) -> str | None:
    if c is None:
        return None
    return canonical_json(
        {
            "outcome": c.outcome,
            "payload": c.payload,
            "action": c.action.value,
            "reviewer": c.reviewer,
            "reason": c.reason,
            "at": iso_utc(c.at),
        }
    )


def _correction(text: str | None) -> Correction | None:
    if text is None:
        return None
    d = json.loads(text)
    return Correction(
        outcome=d["outcome"],
        payload=d["payload"],
        action=Action(d["action"]),
        reviewer=d["reviewer"],
        reason=d["reason"],
        at=datetime.fromisoformat(d["at"]),
    )


def contests_json(contests: tuple[Contest, ...]) -> str:
    """The ``contests_json`` column: each contest, times in hashed ISO form."""
    return canonical_json(
        [
            {
                "task_id": c.task_id,
                "queue": c.queue,
                "filed_by": c.filed_by,
                "filed_at": iso_utc(c.filed_at),
                "statement": c.statement,
                "excluded": list(c.excluded),
                "original_outcome": c.original_outcome,
                "state": c.state,
                "outcome": c.outcome,
                "decided_by": c.decided_by,
                "reason": c.reason,
                "decided_at": None if c.decided_at is None else iso_utc(c.decided_at),
            }
            for c in contests
        ]
    )


def _contests(text: str | None) -> tuple[Contest, ...]:
    if not text or text == "[]":
        return ()
    return tuple(
        Contest(
            task_id=c["task_id"],
            queue=c["queue"],
            filed_by=c["filed_by"],
            filed_at=datetime.fromisoformat(c["filed_at"]),
            statement=c["statement"],
            excluded=tuple(c["excluded"]),
            original_outcome=c["original_outcome"],
            state=c["state"],
            outcome=c["outcome"],
            decided_by=c["decided_by"],
            reason=c["reason"],
            decided_at=None if c["decided_at"] is None else datetime.fromisoformat(c["decided_at"]),
        )
        for c in json.loads(text)
    )


def decision_values(d: Decision) -> dict[str, Any]:
    """Every column of ``decisions`` for ``d``."""
    p = d.proposal
    return {
        "decision_id": d.decision_id,
        "request_id": d.request_id,
        "request_digest": d.request_digest,
        "decision_type": d.decision_type,
        "subject_ref": d.subject_ref,
        "input_json": d.input_json or canonical_json(d.input),
        "proposal_outcome": p.outcome,
        "proposal_confidence": float(p.confidence),
        "proposal_scores_json": canonical_json(p.scores),
        "proposal_model": p.model,
        "proposal_model_version": p.model_version,
        "proposal_explanation": p.explanation,
        "requested_by": d.requested_by,
        "status": d.status.value,
        "route": d.route,
        "queue": d.queue,
        "rule": d.rule,
        "reasons_json": canonical_json(list(d.reasons)),
        "policy_name": d.policy_name,
        "policy_version": d.policy_version,
        "policy_digest": d.policy_digest,
        "created_at": d.created_at,
        "significant": d.significant,
        "final_outcome": d.final_outcome,
        "final_payload_json": canonical_json(d.final_payload),
        "action": None if d.action is None else d.action.value,
        "reviewer": d.reviewer,
        "review_reason": d.review_reason,
        "decided_at": d.decided_at,
        "sampled": d.sampled,
        "sample_probability": float(d.sample_probability),
        "correction_json": _correction_json(d.correction),
        "contests_json": contests_json(d.contests),
        "gold_case_id": d.gold_case_id or None,
    }


def decision_from_row(r: Row[Any]) -> Decision:
    """The ``Decision`` a ``decisions`` row holds."""
    return Decision(
        decision_id=r.decision_id,
        request_id=r.request_id,
        request_digest=r.request_digest,
        decision_type=r.decision_type,
        subject_ref=r.subject_ref,
        input=json.loads(r.input_json),
        input_json=r.input_json,
        proposal=Proposal(
            outcome=r.proposal_outcome,
            confidence=r.proposal_confidence,
            scores=json.loads(r.proposal_scores_json),
            model=r.proposal_model,
            model_version=r.proposal_model_version,
            explanation=r.proposal_explanation,
        ),
        requested_by=r.requested_by,
        status=Status(r.status),
        route=r.route,
        queue=r.queue,
        rule=r.rule,
        reasons=tuple(json.loads(r.reasons_json)),
        policy_name=r.policy_name,
        policy_version=r.policy_version,
        policy_digest=r.policy_digest,
        created_at=r.created_at,
        significant=bool(r.significant),
        final_outcome=r.final_outcome,
        final_payload=json.loads(r.final_payload_json),
        action=None if r.action is None else Action(r.action),
        reviewer=r.reviewer,
        review_reason=r.review_reason,
        decided_at=r.decided_at,
        sampled=bool(r.sampled),
        sample_probability=r.sample_probability,
        correction=_correction(r.correction_json),
        contests=_contests(getattr(r, "contests_json", None)),
        gold_case_id=getattr(r, "gold_case_id", None) or "",
    )


def task_values(t: Task) -> dict[str, Any]:
    """Every column of ``review_tasks`` for ``t``."""
    return {
        "task_id": t.task_id,
        "decision_id": t.decision_id,
        "queue": t.queue,
        "kind": t.kind.value,
        "state": t.state.value,
        "created_at": t.created_at,
        "requested_by": t.requested_by,
        "claimed_by": t.claimed_by,
        "claimed_at": t.claimed_at,
        "lease_expires_at": t.lease_expires_at,
        "warn_at": t.warn_at,
        "due_at": t.due_at,
        "votes_json": votes_json(t.votes),
        "blind": t.blind,
        "blind_probability": t.blind_probability,
        "initial_outcome": t.initial_outcome,
        "revealed_at": t.revealed_at,
    }


def votes_json(votes: tuple[Vote, ...]) -> str:
    """The ``votes_json`` column: each four-eyes vote, its time in hashed ISO form."""
    return canonical_json(
        [{"reviewer": v.reviewer, "outcome": v.outcome, "digest": v.digest, "at": iso_utc(v.at)} for v in votes]
    )


def _votes(text: str | None) -> tuple[Vote, ...]:
    if not text or text == "[]":
        return ()
    return tuple(
        Vote(v["reviewer"], v["outcome"], v["digest"], datetime.fromisoformat(v["at"])) for v in json.loads(text)
    )


def task_from_row(r: Row[Any]) -> Task:
    """The ``Task`` a ``review_tasks`` row holds."""
    return Task(
        task_id=r.task_id,
        decision_id=r.decision_id,
        queue=r.queue,
        kind=TaskKind(r.kind),
        state=TaskState(r.state),
        created_at=r.created_at,
        requested_by=r.requested_by,
        claimed_by=r.claimed_by,
        claimed_at=r.claimed_at,
        lease_expires_at=r.lease_expires_at,
        warn_at=r.warn_at,
        due_at=r.due_at,
        votes=_votes(getattr(r, "votes_json", None)),
        blind=bool(getattr(r, "blind", False)),
        blind_probability=float(getattr(r, "blind_probability", 0.0) or 0.0),
        initial_outcome=getattr(r, "initial_outcome", "") or "",
        revealed_at=getattr(r, "revealed_at", None),
    )


def stored_policy(p: PolicyRecord) -> StoredPolicy:
    """The port's view of a stored policy version."""
    return StoredPolicy(
        ref=PolicyRef(name=p.name, version=p.version, digest=p.digest),
        decision_type=p.decision_type,
        text=p.text,
        loaded_at=p.loaded_at,
    )


def gold_values(c: StoredGold) -> dict[str, Any]:
    """Every column of ``gold_cases`` for ``c``."""
    return {
        "case_id": c.case_id,
        "decision_type": c.decision_type,
        "name": c.name,
        "input_json": canonical_json(dict(c.input)),
        "proposal_outcome": c.outcome,
        "proposal_confidence": float(c.confidence),
        "proposal_scores_json": canonical_json(dict(c.scores)),
        "proposal_explanation": c.explanation,
        "subject_ref": c.subject_ref,
        "expected": c.expected,
        "source": c.source,
        "loaded_by": c.loaded_by,
        "loaded_at": c.loaded_at,
        "retired_at": c.retired_at,
        "retired_by": c.retired_by or None,
        "retire_reason": c.retire_reason or None,
    }


def gold_from_row(r: Row[Any]) -> StoredGold:
    """The ``StoredGold`` a ``gold_cases`` row holds."""
    return StoredGold(
        case_id=r.case_id,
        decision_type=r.decision_type,
        name=r.name,
        input=json.loads(r.input_json),
        outcome=r.proposal_outcome,
        confidence=r.proposal_confidence,
        expected=r.expected,
        explanation=r.proposal_explanation,
        scores=json.loads(r.proposal_scores_json),
        subject_ref=r.subject_ref,
        source=r.source,
        loaded_by=r.loaded_by,
        loaded_at=r.loaded_at,
        retired_at=r.retired_at,
        retired_by=r.retired_by or "",
        retire_reason=r.retire_reason or "",
    )
