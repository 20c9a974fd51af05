"""Four-eyes sign-off (EU AI Act Art. 14(5)): a held decision final only once N distinct people agree.

Where the task's quorum asks for more than one reviewer, a Submit is a vote, not the decision. The
vote is bound to the digest of the outcome and payload it signs (``quorum.signed_digest``) and kept
on the task (``Task.votes``), and the tally (``quorum.tally``) says what follows:

- ``pending``: the task goes back to its queue for the next reviewer (one who has not voted, and
  not the requester); the decision stays held;
- ``agreed``: the decision is final with the agreed outcome, signed by the last voter, and the
  event ``quorum_reached`` names every vote that counted;
- ``disagreed``: the task closes and a new one opens in the quorum's ``escalate_to`` queue, with
  that queue's SLA and quorum (``quorum_disagreed``); the decision stays held.

Pure planning: the service reads the task and decision; this returns the Change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from audit.record import NewEvent, canonical_json, iso_utc
from gateway.policy.model import Policy, Quorum, Route
from gateway.review.change import Change, Update
from gateway.review.commands import SubmitCommand
from gateway.review.events import event, held_update, new_task, task_guard
from gateway.review.model import Decision, Principal, Status, Task, TaskKind, TaskState
from gateway.review.quorum import Vote, check_voter, signed_digest, tally, valid_votes
from gateway.review.rules import final_body, payload_of

__all__ = ["QUORUM_DISAGREED", "QUORUM_REACHED", "has_voted", "plan_vote", "quorum_for"]

QUORUM_REACHED = "quorum_reached"
QUORUM_DISAGREED = "quorum_disagreed"


def quorum_for(policy: Policy | None, d: Decision, task: Task) -> Quorum:
    """The quorum ``task`` needs: the routed rule's or queue's in the queue the policy routed to,
    the queue's own after an escalation; one reviewer for audit and contest tasks."""
    if policy is None or task.kind is not TaskKind.REVIEW:
        return Quorum()
    if task.queue == d.route:
        return policy.quorum(Route(route=d.route, rule=d.rule, reasons=d.reasons, policy=policy.ref))
    queue = policy.queues.get(task.queue)
    return queue.quorum if queue is not None else Quorum()


def has_voted(reviewer: str, task: Task) -> bool:
    """Whether ``reviewer`` holds a vote on ``task`` that still counts (then it is not theirs to claim)."""
    return any(v.reviewer == reviewer for v in valid_votes(task.votes))


def plan_vote(
    principal: Principal,
    cmd: SubmitCommand,
    task: Task,
    d: Decision,
    outcome: str,
    quorum: Quorum,
    submitted: NewEvent,
    now: datetime,
    policy: Policy,
    new_id: Callable[[], str],
) -> tuple[Change, Decision, Task]:
    """The Change recording ``principal``'s vote ``outcome`` on ``task``, and what the tally makes of it."""
    assert cmd.action is not None
    check_voter(principal.name, d.requested_by, task.votes)
    payload = payload_of(cmd.payload)
    vote = Vote(principal.name, outcome, signed_digest(outcome, payload), now)
    votes = (*task.votes, vote)
    result = tally(quorum, votes)
    counted = [
        {"reviewer": v.reviewer, "outcome": v.outcome, "digest": v.digest, "at": iso_utc(v.at)}
        for v in valid_votes(votes)
    ]
    figures: Mapping[str, Any] = {
        "task_id": task.task_id,
        "queue": task.queue,
        "reviewers": quorum.reviewers,
        "agreement": quorum.agreement,
        "votes": counted,
        "counts": dict(result.counts),
    }
    guard = f"task {task.task_id} was submitted or reclaimed meanwhile"
    events = [_with_tally(submitted, task.task_id, result.state, result.needed)]
    if result.state == "pending":
        reopened = dataclasses.replace(
            task,
            state=TaskState.OPEN,
            claimed_by="",
            claimed_at=None,
            lease_expires_at=None,
            votes=votes,
            initial_outcome="",  # blind-first: the next reviewer starts blind too
            revealed_at=None,
        )
        waiting = dataclasses.replace(d, status=Status.PENDING_REVIEW)
        updates = (Update(reopened, task_guard(task), guard), held_update(waiting))
        return Change(updates=updates, events=tuple(events)), waiting, reopened
    done = dataclasses.replace(task, state=TaskState.DONE, votes=votes)
    if result.state == "agreed":
        final = dataclasses.replace(
            d,
            status=Status.HUMAN_DECIDED,
            final_outcome=outcome,
            final_payload=payload,
            action=cmd.action,
            reviewer=principal.name,
            review_reason=cmd.reason,
            decided_at=now,
        )
        events.append(event(final, QUORUM_REACHED, principal.name, {**figures, "outcome": outcome}, now))
        events.append(event(final, "decision_finalized", principal.name, final_body(final, by="human"), now))
        return (
            Change(updates=(Update(done, task_guard(task), guard), held_update(final)), events=tuple(events)),
            final,
            done,
        )
    target = quorum.escalate_to or policy.fail_closed_queue  # lint requires escalate_to when N > 1
    queue = policy.queues.get(target)
    moved = new_task(d, target, TaskKind.REVIEW, new_id(), sla=queue.sla if queue else None, created_at=now)
    escalated = dataclasses.replace(d, status=Status.PENDING_REVIEW, queue=target)
    body = {**figures, "escalated_to": target, "new_task_id": moved.task_id}
    events.append(event(escalated, QUORUM_DISAGREED, "gateway", body, now))
    change = Change(
        inserts=(moved,), updates=(Update(done, task_guard(task), guard), held_update(escalated)), events=tuple(events)
    )
    return change, escalated, done


def _with_tally(submitted: NewEvent, group: str, state: str, needed: int) -> NewEvent:
    """The ``review_submitted`` event with the tally it led to (``vote: true``); ``quorum_group``
    pairs the votes of one task for the reviewers' Cohen's kappa (``audit/reviewers.py``)."""
    body = {**submitted.body, "vote": True, "tally": state, "votes_needed": needed, "quorum_group": group}
    return dataclasses.replace(submitted, body=body, body_json=canonical_json(body))
