"""Blind-first review: the draw that makes a task blind, and what a reviewer may see before the reveal.

Pure. The draw is a uniform number fixed by the decision id (its own salt, so it is independent of
the audit draw), recorded with its probability like audit sampling. Until the reviewer records an
initial outcome, every read a reviewer of the task's queue makes goes through :func:`visible`: the
proposal (outcome, confidence, scores, model, explanation) is withheld, and so are the rule and
reasons that routed it, since a rule named ``low_confidence`` tells the confidence band.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from audit.record import iso_utc
from gateway.errors import InvalidRequest
from gateway.policy.model import Policy
from gateway.review.commands import SubmitCommand
from gateway.review.model import Action, Decision, Principal, Proposal, Task, TaskState
from gateway.review.rules import hashed_draw

__all__ = [
    "WITHHELD",
    "blind_draw",
    "blind_submit",
    "check_outcome",
    "drawn_blind",
    "shown_to",
    "visible",
    "withhold",
]


WITHHELD = Proposal(outcome="", confidence=0.0)
"""The proposal a reviewer sees on an unrevealed blind task: nothing."""


def blind_draw(decision_id: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id: the blind draw is reproducible."""
    return hashed_draw(b"signoff-blind-first:", decision_id)


def drawn_blind(decision_id: str, rate: float) -> bool:
    """True when the decision's task is reviewed blind-first under ``rate``."""
    return blind_draw(decision_id) < rate


def withhold(decision: Decision) -> Decision:
    """The decision without anything that tells what the model proposed or how sure it was."""
    return dataclasses.replace(decision, proposal=WITHHELD, rule="", reasons=())


def visible(
    decision: Decision, principal: Principal, *, blind: bool, revealed: bool, queue_roles: Iterable[str]
) -> Decision:
    """What ``principal`` may read of ``decision``: withheld for a reviewer of an unrevealed blind task.

    Fail closed: anyone holding a role of the task's queue counts as its reviewer, whether or not
    they hold the claim, so a second reviewer cannot read the proposal through another RPC either.
    """
    if blind and not revealed and principal.roles & frozenset(queue_roles):
        return withhold(decision)
    return decision


def shown_to(
    principal: Principal, decision: Decision, tasks: Iterable[Task], roles_of: Callable[[str], frozenset[str]]
) -> Decision:
    """``decision`` as ``principal`` may read it: withheld while any blind task of it is not done
    and not revealed to ``principal`` as its holder, for anyone holding a role of that task's queue."""
    for t in tasks:
        if not t.blind or t.state is TaskState.DONE:
            continue  # (no queue-role lookup for the ordinary case)
        revealed = t.claimed_by == principal.name and t.revealed_at is not None
        shown = visible(decision, principal, blind=t.blind, revealed=revealed, queue_roles=roles_of(t.queue))
        if shown is not decision:
            return shown
    return decision


def check_outcome(outcome: str, policy: Policy | None) -> None:
    """A blind reviewer names an outcome the policy lists (there is no proposal to approve)."""
    if not outcome:
        raise InvalidRequest("outcome", "a blind-first review names its outcome: no proposal is shown to agree with")
    if policy is not None and policy.outcomes and outcome not in policy.outcomes:
        raise InvalidRequest("outcome", f"{outcome!r} is not one of: {', '.join(policy.outcomes)}")


def blind_submit(
    cmd: SubmitCommand, task: Task, d: Decision, policy: Policy | None
) -> tuple[SubmitCommand, dict[str, Any]]:
    """A Submit on a blind task as the sign-off it records, and what the event adds.

    Unrevealed: the reviewer decided without ever seeing the proposal; the named outcome is both
    the initial and the final one, recorded as APPROVE when it matches the proposal, else
    OVERRIDE (never refused for that, which would tell the proposal). Revealed: the outcome is
    checked as usual; changing the initial outcome needs a reason.
    """
    assert cmd.action is not None
    if task.revealed_at is None:
        if cmd.action is Action.REJECT:
            return cmd, {"blind": True, "initial_outcome": "rejected", "revealed": False}
        check_outcome(cmd.outcome, policy)
        initial = cmd.outcome
        if cmd.action is not Action.EDIT or not cmd.payload:  # an EDIT of the payload alone stays one
            matches = cmd.outcome == d.proposal.outcome
            cmd = dataclasses.replace(
                cmd, action=Action.APPROVE if matches else Action.OVERRIDE, outcome="" if matches else cmd.outcome
            )
        return cmd, {"blind": True, "initial_outcome": initial, "revealed": False}
    final = cmd.outcome or (d.proposal.outcome if cmd.action is Action.APPROVE else "")
    if final and final != task.initial_outcome and not cmd.reason.strip():
        raise InvalidRequest("reason", "changing the initial outcome after the reveal needs a reason")
    return cmd, {
        "blind": True,
        "initial_outcome": task.initial_outcome,
        "revealed": True,
        "revealed_at": iso_utc(task.revealed_at),
    }
