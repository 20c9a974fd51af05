"""Decide's model step: where the proposal comes from (caller, model, either), and failing closed.

Runs before ``plan_decide``: it refuses a proposal the policy does not take from the caller,
asks the bound model when the caller sent none, and turns any model failure into a proposal that
records the failure, which ``rules.evaluate`` routes to the policy's fail-closed queue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from gateway.errors import InvalidRequest
from gateway.policy.model import Policy
from gateway.review.commands import DecideCommand
from gateway.review.model import Principal, Proposal
from gateway.review.model_port import ModelFailure, ModelProposal

__all__ = ["CALLER_ROLE", "ModelSource", "fill_proposal"]

CALLER_ROLE = "caller"


class ModelSource(Protocol):
    """The loaded bindings: a named binding's proposal and its shadows' within ``timeout_s``."""

    async def propose(self, name: str, input: Mapping[str, Any], timeout_s: float) -> tuple[ModelProposal, list[Any]]:
        """The primary's proposal (or ``ModelFailure``) and the shadows' results."""
        ...


def _proposal(p: ModelProposal, shadows: list[Any]) -> Proposal:
    call = p.record()
    if shadows:
        call["shadows"] = [
            {"binding": name, **(r.record() if isinstance(r, ModelProposal) else {"failure": r.reason})}
            | ({"outcome": r.outcome, "confidence": r.confidence} if isinstance(r, ModelProposal) else {})
            for name, r in shadows
        ]
    return Proposal(
        outcome=p.outcome,
        confidence=p.confidence,
        scores=dict(p.scores),
        model=p.model_name,
        model_version=p.model_version,
        explanation=p.explanation,
        call=call,
    )


async def fill_proposal(
    principal: Principal,
    cmd: DecideCommand,
    policy: Policy | None,
    models: ModelSource | None,
    timeout_s: float | None = None,
) -> DecideCommand:
    """The command with its proposal from the right source; refuses a proposal from the wrong one.

    A caller that may not make this request, or an unknown decision type, is left for
    ``plan_decide`` to refuse: the model is not called for it. ``timeout_s`` is what remains of
    the caller's deadline; the binding's own deadline is cut to fit inside it.
    """
    if policy is None or not principal.has(CALLER_ROLE) or not principal.may_request(cmd.decision_type):
        return cmd
    source, binding = policy.proposal.source, policy.proposal.binding
    if source == "caller":
        if cmd.proposal is None:
            raise InvalidRequest("proposal", f"is required: {cmd.decision_type!r} takes the caller's proposal")
        return cmd
    if cmd.proposal is not None:
        if source == "model":
            raise InvalidRequest(
                "proposal",
                f"must not be sent: {cmd.decision_type!r} takes its proposal from the model binding {binding!r}",
            )
        return cmd
    if models is None:
        failure = ModelFailure("error", f"binding {binding!r}: no models file is loaded")
        return _failed(cmd, str(binding), failure)
    # The model gets the caller's deadline less a margin to commit the decision and answer.
    budget = 3600.0 if timeout_s is None else max(0.0, timeout_s - max(0.25, timeout_s * 0.2))
    try:
        primary, shadows = await models.propose(str(binding), cmd.input, budget)
    except ModelFailure as exc:
        if exc.kind == "input":
            field, _, message = exc.detail.partition(": ")
            raise InvalidRequest(field, message) from None
        return _failed(cmd, str(binding), exc)
    return dataclasses.replace(cmd, proposal=_proposal(primary, shadows))


def _failed(cmd: DecideCommand, binding: str, failure: ModelFailure) -> DecideCommand:
    """A proposal that says the model gave none: no outcome, and the reason, for review."""
    call = {"binding": binding, "failure": failure.reason, "kind": failure.kind}
    return dataclasses.replace(cmd, proposal=Proposal(outcome="", confidence=0.0, call=call))
