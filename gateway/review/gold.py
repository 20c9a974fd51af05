"""Gold cases: known-answer cases injected into review queues, shaped like real tasks.

A compliance officer loads them (``signoff gold add``). When a real decision is held in a queue
whose ``gold_rate`` is above 0, a draw fixed by that decision's id (its own salt, independent of
the audit and blind draws) decides whether one gold case joins the queue in the same Change. The
case is one that the current policy routes to that very queue, so its rule and reasons are what
a real decision with that input would show. It becomes a decision row with ``gold_case_id`` set
and an ordinary review task: the review API cannot tell it from a real one.

It never reaches a caller (``get_decision`` answers NOT_FOUND to anyone but the queue's reviewers
and auditors), never counts in a statistic, export, replay or calibration (they read
``tables.decision_log``; override statistics skip sign-offs with ``gold_expected``), and its
sign-offs carry ``gold_expected``, which feeds per-reviewer gold accuracy
(``audit.reviewers``). Pure: no I/O but the snapshot reads handed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from audit.record import NewEvent
from gateway.policy.model import Policy, Queue
from gateway.review.change import Change
from gateway.review.commands import DecideCommand
from gateway.review.events import event, review_task, routed_body
from gateway.review.model import Decision, Principal, Proposal, Status, Task
from gateway.review.rules import decide_texts, evaluate, hashed_draw, new_decision

__all__ = ["GOLD_INJECTED", "StoredGold", "gold_draw", "gold_marks", "pick_case", "plan_gold", "with_gold"]

T = TypeVar("T")
GOLD_INJECTED = "gold_injected"
"""The event recording that a gold case joined a queue, and on which draw."""


@dataclasses.dataclass(frozen=True, slots=True)
class StoredGold:
    """A loaded gold case: the input and proposal a reviewer will see, and the known answer."""

    case_id: str
    decision_type: str
    name: str
    input: Mapping[str, Any]
    outcome: str
    confidence: float
    expected: str
    explanation: str = ""
    scores: Mapping[str, float] = dataclasses.field(default_factory=dict)
    subject_ref: str = ""
    source: str = ""
    """Where it was loaded from: the file and line."""
    loaded_by: str = ""
    loaded_at: datetime | None = None
    retired_at: datetime | None = None
    """Set by ``signoff gold retire``: the case is no longer injected (past sign-offs keep their score)."""
    retired_by: str = ""
    retire_reason: str = ""

    @property
    def trap(self) -> bool:
        """True when the proposal is deliberately not the expected outcome."""
        return self.outcome != self.expected


def gold_draw(decision_id: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id: the gold draw is reproducible."""
    return hashed_draw(b"signoff-gold:", decision_id)


def _command(case: StoredGold, request_id: str, subject_ref: str) -> DecideCommand:
    proposal = Proposal(case.outcome, case.confidence, dict(case.scores), explanation=case.explanation)
    return DecideCommand(request_id, case.decision_type, subject_ref, dict(case.input), proposal)


def pick_case(cases: Sequence[StoredGold], policy: Policy, queue: str, decision_id: str) -> StoredGold | None:
    """The gold case to inject beside ``decision_id`` in ``queue``: one the policy routes there
    today (a case it decides automatically, or sends elsewhere, would not look real in this
    queue), drawn by the decision id; None when no loaded case fits."""
    fits = sorted(
        (c for c in cases if evaluate(policy, _command(c, "", "")).route == queue),
        key=lambda c: c.case_id,
    )
    if not fits:
        return None
    return fits[int(hashed_draw(b"signoff-gold-pick:", decision_id) * len(fits))]


def plan_gold(
    real: Decision, policy: Policy, queue: Queue, case: StoredGold, new_id: Callable[[], str]
) -> tuple[Decision, Task, tuple[NewEvent, ...]]:
    """The gold decision, its review task and its events, injected beside the held ``real``."""
    cmd = _command(case, new_id(), case.subject_ref or new_id())
    input_json, digest = decide_texts(cmd)
    route = evaluate(policy, cmd)
    now = real.created_at
    requester = Principal(real.requested_by, frozenset())
    gold = new_decision(requester, cmd, policy, route, digest, new_id(), now, input_json)
    gold = dataclasses.replace(
        gold,
        gold_case_id=case.case_id,
        proposal=dataclasses.replace(
            gold.proposal, model=real.proposal.model, model_version=real.proposal.model_version
        ),
    )
    task, drawn = review_task(gold, policy, queue.name, new_id)
    injected = {
        "gold_case_id": case.case_id,
        "name": case.name,
        "task_id": task.task_id,
        "queue": queue.name,
        "alongside": real.decision_id,
        "draw": gold_draw(real.decision_id),
        "probability": queue.gold_rate,
        "input": dict(case.input),
        "proposal_outcome": case.outcome,
        "confidence": case.confidence,
        "expected": case.expected,
    }
    routed = {**routed_body(gold), "gold_case_id": case.case_id}
    events = (event(gold, GOLD_INJECTED, "gateway", injected, now), event(gold, "routed", "gateway", routed, now))
    return gold, task, (*events, *drawn)


async def with_gold(
    read: Callable[[Callable[[Any], list[StoredGold]]], Awaitable[list[StoredGold]]],
    change: Change,
    d: Decision,
    policy: Policy | None,
    new_id: Callable[[], str],
) -> Change:
    """``change`` (a Decide's), with a gold case injected beside ``d`` when ``d`` is held in a
    queue whose ``gold_rate`` draw says so and a loaded case fits that queue; else unchanged."""
    if policy is None or d.status is not Status.PENDING_REVIEW:
        return change
    queue = policy.queues.get(d.queue)
    if queue is None or queue.gold_rate <= 0 or gold_draw(d.decision_id) >= queue.gold_rate:
        return change
    cases = await read(lambda tx: tx.gold_cases(d.decision_type))
    case = pick_case(cases, policy, queue.name, d.decision_id)
    if case is None:
        return change
    gold, task, events = plan_gold(d, policy, queue, case, new_id)
    return dataclasses.replace(change, inserts=(*change.inserts, gold, task), events=(*change.events, *events))


async def gold_marks(
    read: Callable[[Callable[[Any], StoredGold | None]], Awaitable[StoredGold | None]], d: Decision
) -> dict[str, Any]:
    """What a sign-off on ``d`` adds to its ``review_submitted`` event when ``d`` is a gold case:
    the case and its known answer (reviewer statistics read ``gold_expected``); else nothing."""
    if not d.gold_case_id:
        return {}
    case = await read(lambda tx: tx.gold_case(d.gold_case_id))
    if case is None:  # a gold row without its case cannot be scored: record that it was gold
        return {"gold_case_id": d.gold_case_id}
    return {"gold_case_id": case.case_id, "gold_expected": case.expected, "gold_trap": case.trap}
