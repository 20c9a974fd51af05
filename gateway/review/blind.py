"""Blind-first review: the draw that makes a task blind, and what a reviewer may see before the reveal.

Pure. The draw is a uniform number fixed by the decision id (its own salt, so it is independent of
the audit draw), recorded with its probability like audit sampling. Until the reviewer records an
initial outcome, every read a reviewer of the task's queue makes goes through :func:`visible`: the
proposal (outcome, confidence, scores, model, explanation) is withheld, and so are the rule and
reasons that routed it, since a rule named ``low_confidence`` tells the confidence band.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable

from gateway.review.model import Decision, Principal, Proposal

__all__ = ["WITHHELD", "blind_draw", "drawn_blind", "visible", "withhold"]

WITHHELD = Proposal(outcome="", confidence=0.0)
"""The proposal a reviewer sees on an unrevealed blind task: nothing."""


def blind_draw(decision_id: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id: the blind draw is reproducible."""
    h = hashlib.sha256(b"signoff-blind-first:" + decision_id.encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


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
