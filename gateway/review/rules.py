"""Pure helpers of the use cases: request validation, digests, the sampling draw, event bodies."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from audit.record import canonical_json, canonical_object
from gateway.errors import InvalidRequest
from gateway.policy.model import AUTO, EvalRequest, Policy, Route
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Decision, Principal, Proposal, Status

__all__ = [
    "decide_texts",
    "decision_body",
    "evaluate",
    "final_body",
    "new_decision",
    "payload_of",
    "proposal_body",
    "request_digest",
    "sample_draw",
    "signed_outcome",
    "validate_decide",
]

MAX_ID_LENGTH = 200


def proposal_body(p: Proposal) -> dict[str, Any]:
    """The proposal as a plain JSON-able mapping."""
    return {
        "outcome": p.outcome,
        "confidence": p.confidence,
        "scores": dict(sorted(p.scores.items())),
        "model": p.model,
        "model_version": p.model_version,
        "explanation": p.explanation,
        **({"call": dict(p.call)} if p.call else {}),
    }


def decide_texts(cmd: DecideCommand, masked: Collection[str] = ()) -> tuple[str, str]:
    """The input's canonical JSON, made once per Decide, and the request digest over it.

    The digest is sha256 of what the caller sent (``canonical_json`` of decision type, subject,
    input and proposal), so a reused request id with another body is caught. A number JSON
    cannot hold (NaN, infinity) is the caller's mistake, named here before anything is stored.
    ``masked`` input fields (personal ones, stored sealed) enter the digest as ``"$personal"``:
    the chained digest must not let anyone confirm a guessed value once the key is erased (a
    retry's personal fields are compared opened instead, ``service.decide_with_receipt``).
    """
    try:
        input_json = canonical_json(cmd.input)
        digested = canonical_json({**cmd.input, **dict.fromkeys(masked, "$personal")}) if masked else input_json
    except (TypeError, ValueError):
        raise InvalidRequest("input", "must be JSON: numbers finite, keys strings") from None
    try:
        body = {
            "decision_type": cmd.decision_type,
            "subject_ref": cmd.subject_ref,
            # A model's proposal is the gateway's, not the caller's: a retry must match without it.
            "proposal": None if cmd.proposal is None or cmd.proposal.call else proposal_body(cmd.proposal),
        }
        text = canonical_object(body, {"input": digested})
    except (TypeError, ValueError):
        raise InvalidRequest("proposal", "must be JSON: numbers finite") from None
    return input_json, hashlib.sha256(text.encode()).hexdigest()


def request_digest(cmd: DecideCommand) -> str:
    """The request digest alone (see ``decide_texts``)."""
    return decide_texts(cmd)[1]


def hashed_draw(salt: bytes, key: str) -> float:
    """A uniform number in [0, 1) fixed by ``key``: a reproducible draw. Each draw has its own
    ``salt`` (audit sample, blind-first, gold), so being drawn for one says nothing of another."""
    h = hashlib.sha256(salt + key.encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def sample_draw(decision_id: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id: the audit draw is reproducible."""
    return hashed_draw(b"signoff-audit-sample:", decision_id)


def _check_id(field: str, value: str, required: bool) -> None:
    if required and not value.strip():
        raise InvalidRequest(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRequest(field, f"longer than {MAX_ID_LENGTH} characters")


def validate_decide(cmd: DecideCommand, policy: Policy) -> None:
    """Refuse a request the policy cannot take, naming the field; never guess a default."""
    _check_id("request_id", cmd.request_id, required=True)
    _check_id("subject_ref", cmd.subject_ref, required=False)
    p = cmd.proposal
    if p is None:
        raise InvalidRequest("proposal", "is required")
    if p.call.get("failure"):  # the model gave none: only the input is checked; review follows
        p = dataclasses.replace(p, outcome=policy.outcomes[0] if policy.outcomes else "-")
    c = p.confidence
    if not isinstance(c, (int, float)) or math.isnan(c) or c < 0.0 or c > 1.0:
        raise InvalidRequest("proposal.confidence", f"must be a number in [0, 1], got {c!r}")
    if not p.outcome:
        raise InvalidRequest("proposal.outcome", "must not be empty")
    if policy.outcomes and p.outcome not in policy.outcomes:
        known = ", ".join(policy.outcomes)
        raise InvalidRequest("proposal.outcome", f"{p.outcome!r} is not one of: {known}")
    for label, score in p.scores.items():
        if math.isnan(score) or score < 0.0 or score > 1.0:
            raise InvalidRequest(f"proposal.scores[{label}]", f"must be in [0, 1], got {score!r}")
    problems = policy.validate_input(cmd.input)
    if problems:
        path, message = problems[0]
        raise InvalidRequest(path, message)


def decision_body(d: Decision) -> dict[str, Any]:
    """The ``decision_received`` event body: everything the caller sent."""
    return {
        "request_id": d.request_id,
        "decision_type": d.decision_type,
        "subject_ref": d.subject_ref,
        "input": dict(d.input),
        "proposal": proposal_body(d.proposal),
        "requested_by": d.requested_by,
        "request_digest": d.request_digest,
    }


def payload_of(value: Mapping[str, Any] | None) -> dict[str, Any]:
    """A plain dict copy of an optional payload."""
    return dict(value or {})


def signed_outcome(d: Decision, cmd: SubmitCommand, policy: Policy | None) -> str:
    """The outcome a sign-off records, refusing combinations that make no sense."""
    proposed = d.proposal.outcome
    if cmd.action is Action.APPROVE:
        if cmd.outcome and cmd.outcome != proposed:
            raise InvalidRequest("outcome", "APPROVE keeps the proposed outcome; use OVERRIDE")
        return proposed
    if cmd.action is Action.REJECT:
        return "rejected"
    outcome = cmd.outcome or proposed
    if policy is not None and policy.outcomes and outcome not in policy.outcomes:
        raise InvalidRequest("outcome", f"{outcome!r} is not one of: {', '.join(policy.outcomes)}")
    if cmd.action is Action.OVERRIDE and outcome == proposed:
        raise InvalidRequest("outcome", "OVERRIDE needs an outcome different from the proposal")
    if cmd.action is Action.EDIT and outcome == proposed and not cmd.payload:
        raise InvalidRequest("payload", "EDIT needs a changed outcome or a payload")
    return outcome


def evaluate(policy: Policy, cmd: DecideCommand) -> Route:
    """Evaluate, failing closed: an evaluator error routes to review, never to auto."""
    p = cmd.proposal
    assert p is not None  # validate_decide ran
    if p.call.get("failure"):
        return Route(
            route=policy.fail_closed_queue,
            rule="fail_closed",
            reasons=(str(p.call["failure"]),),
            policy=policy.ref,
            failed_closed=True,
        )
    request = EvalRequest(input=cmd.input, outcome=p.outcome, confidence=p.confidence, scores=p.scores, model=p.model)
    try:
        route = policy.evaluate(request)
    except Exception as exc:  # noqa: BLE001 - any evaluator fault must fail closed
        return Route(
            route=policy.fail_closed_queue,
            rule="fail_closed",
            reasons=(f"evaluation failed: {type(exc).__name__}",),
            policy=policy.ref,
            failed_closed=True,
        )
    if route.failed_closed and route.route == AUTO:  # defence in depth
        return dataclasses.replace(route, route=policy.fail_closed_queue)
    return route


def final_body(d: Decision, *, by: str) -> dict[str, Any]:
    """The ``decision_finalized`` event body."""
    return {
        "status": d.status.value,
        "final_outcome": d.final_outcome,
        "final_payload": dict(d.final_payload),
        "action": d.action.value if d.action else "",
        "reviewer": d.reviewer,
        "reason": d.review_reason,
        "by": by,
    }


def new_decision(
    principal: Principal,
    cmd: DecideCommand,
    policy: Policy,
    route: Route,
    digest: str,
    decision_id: str,
    now: datetime,
    input_json: str = "",
) -> Decision:
    """The decision a routed request becomes, sampled for audit by its id's hash if automatic."""
    assert cmd.proposal is not None  # validate_decide refuses a Decide without one
    auto = route.auto
    rate = policy.sampling.audit_auto_rate if auto else 0.0
    sampled = auto and rate > 0 and sample_draw(decision_id) < rate
    return Decision(
        decision_id=decision_id,
        request_id=cmd.request_id,
        request_digest=digest,
        decision_type=cmd.decision_type,
        subject_ref=cmd.subject_ref,
        input=dict(cmd.input),
        input_json=input_json,
        proposal=cmd.proposal,
        requested_by=principal.name,
        status=Status.AUTO_DECIDED if auto else Status.PENDING_REVIEW,
        route=route.route,
        queue="" if auto else route.route,
        rule=route.rule,
        reasons=route.reasons,
        policy_name=route.policy.name,
        policy_version=route.policy.version,
        policy_digest=route.policy.digest,
        created_at=now,
        significant=policy.significant,
        final_outcome=cmd.proposal.outcome if auto else "",
        decided_at=now if auto else None,
        sampled=sampled,
        sample_probability=rate if auto else 1.0,
    )
