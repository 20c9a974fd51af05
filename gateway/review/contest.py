"""Contesting a final decision (GDPR Art. 22(3); DSA Art. 20): filed, heard by someone else, decided.

A caller holding a role the policy's ``contest`` section names files a contest for the data
subject, within the policy's window after the decision became final. A contest task opens in the
policy's contest queue; nobody who decided the original (its reviewers, its corrector, whoever
held one of its tasks) may claim it. The hearing reviewer upholds the outcome (APPROVE) or
reverses it (OVERRIDE, or EDIT with another outcome); a reversal is recorded as the decision's
correction, so the corrected outcome is the one callers act on, exactly as after an audit. The
decision keeps its contest history (``Decision.contests``) and every step is an event.

Pure planning: the service reads the decision and its tasks; these return Changes guarded on the
decision's contest history being the one that was read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from audit.record import iso_utc
from gateway.errors import InvalidRequest, PermissionDenied, PreconditionFailed
from gateway.policy.model import Policy, Sla
from gateway.review.change import Change, Update
from gateway.review.commands import SubmitCommand
from gateway.review.correction import correct
from gateway.review.events import event, new_task, task_guard
from gateway.review.model import Action, Contest, Decision, Principal, Status, Task, TaskKind, TaskState

__all__ = [
    "CONTESTED",
    "CONTEST_DECIDED",
    "check_statement",
    "current_outcome",
    "deciders",
    "may_hear",
    "plan_contest",
    "plan_contest_submit",
]

CONTESTED = "decision_contested"
"""The event recording a contest filed: by whom, the statement, the task and queue."""

CONTEST_DECIDED = "contest_decided"
"""The event recording a contest's result: upheld or reversed, the outcome, by whom, why."""

MAX_STATEMENT = 4000
"""Characters a contest statement may hold."""


def current_outcome(d: Decision) -> str:
    """The outcome callers act on now: the correction's, if any, else the final one."""
    return d.correction.outcome if d.correction is not None else d.final_outcome


def deciders(d: Decision, tasks: Sequence[Task]) -> tuple[str, ...]:
    """Everyone who decided the original: its reviewer, its corrector, and whoever held one of its
    review or audit tasks (a four-eyes co-signer, a reviewer who released it)."""
    names = {d.reviewer} | ({d.correction.reviewer} if d.correction is not None else set())
    names |= {t.claimed_by for t in tasks if t.kind is not TaskKind.CONTEST}
    names |= {c.decided_by for c in d.contests}
    return tuple(sorted(n for n in names if n))


def may_hear(principal: str, d: Decision) -> bool:
    """Whether ``principal`` may hear the decision's open contest."""
    open_ = [c for c in d.contests if c.state == "open"]
    return not open_ or principal not in open_[-1].excluded


def check_statement(statement: str) -> None:
    """A contest statement must say something, within ``MAX_STATEMENT`` characters."""
    if not statement.strip():
        raise InvalidRequest("statement", "must say what the data subject contests")
    if len(statement) > MAX_STATEMENT:
        raise InvalidRequest("statement", f"is longer than {MAX_STATEMENT} characters")


def plan_contest(
    principal: Principal,
    d: Decision,
    tasks: Sequence[Task],
    policy: Policy | None,
    statement: str,
    now: datetime,
    new_id: Callable[[], str],
) -> tuple[Change, Task, Decision]:
    """The Change filing a contest of ``d``, its task, and the decision with the contest added
    (``statement`` as it is stored: checked with ``check_statement`` before any sealing)."""
    if policy is None or policy.contest is None:
        raise PreconditionFailed(f"the policy for {d.decision_type} does not allow contests (no 'contest' section)")
    rule = policy.contest
    if not principal.roles & frozenset(rule.roles):
        raise PermissionDenied(
            f"{principal.name} lacks a role that may contest {d.decision_type} ({', '.join(rule.roles)})"
        )
    if d.status not in (Status.AUTO_DECIDED, Status.HUMAN_DECIDED):
        raise PreconditionFailed(f"decision {d.decision_id} is {d.status.value}: only a final outcome can be contested")
    decided = d.decided_at or d.created_at
    if (now - decided).total_seconds() > rule.window_seconds:
        closed = decided + timedelta(seconds=rule.window_seconds)
        raise PreconditionFailed(f"the contest window of decision {d.decision_id} closed at {iso_utc(closed)}")
    if any(c.state == "open" for c in d.contests):
        raise PreconditionFailed(f"decision {d.decision_id} already has a contest open")
    task = new_task(d, rule.queue, TaskKind.CONTEST, new_id(), sla=_sla(policy, rule.queue), created_at=now)
    contest = Contest(
        task_id=task.task_id,
        queue=rule.queue,
        filed_by=principal.name,
        filed_at=now,
        statement=statement,
        excluded=deciders(d, tasks),
        original_outcome=current_outcome(d),
    )
    filed = dataclasses.replace(d, contests=(*d.contests, contest))
    guard = Update(filed, {"contests": (d.contests,)}, f"decision {d.decision_id} was contested meanwhile")
    body = {
        "task_id": task.task_id,
        "queue": rule.queue,
        "statement": statement,
        "original_outcome": contest.original_outcome,
        "excluded": list(contest.excluded),
    }
    return (
        Change(inserts=(task,), updates=(guard,), events=(event(filed, CONTESTED, principal.name, body, now),)),
        task,
        filed,
    )


def _sla(policy: Policy, queue: str) -> Sla | None:
    q = policy.queues.get(queue)
    return None if q is None else q.sla


def plan_contest_submit(
    principal: Principal, cmd: SubmitCommand, task: Task, d: Decision, now: datetime, policy: Policy | None
) -> tuple[Change, Decision, Task]:
    """The Change deciding the open contest ``task`` of ``d``: upheld (APPROVE) or reversed
    (OVERRIDE, or EDIT with another outcome; recorded as the decision's correction)."""
    assert cmd.action is not None
    if not cmd.reason.strip():
        raise InvalidRequest("reason", "a contest's decision must give its reasons")
    contest = next((c for c in d.contests if c.task_id == task.task_id), None)
    if contest is None or contest.state != "open":
        raise PreconditionFailed(f"task {task.task_id} hears no open contest of decision {d.decision_id}")
    if principal.name in contest.excluded:
        raise PermissionDenied(f"{principal.name} decided the original and may not hear its contest")
    before = current_outcome(d)
    outcome = cmd.outcome
    if cmd.action is Action.APPROVE:
        if outcome and outcome != before:
            raise InvalidRequest("outcome", "APPROVE upholds the contested outcome; reverse with OVERRIDE")
        outcome = before
    elif cmd.action is Action.REJECT:
        raise InvalidRequest("action", "a contest is upheld (APPROVE) or reversed (OVERRIDE, or EDIT with an outcome)")
    else:
        outcome = outcome or before
        if policy is not None and policy.outcomes and outcome not in policy.outcomes:
            raise InvalidRequest("outcome", f"{outcome!r} is not one of: {', '.join(policy.outcomes)}")
        if cmd.action is Action.OVERRIDE and outcome == before:
            raise InvalidRequest("outcome", "OVERRIDE needs an outcome different from the contested one")
    result = "upheld" if outcome == before else "reversed"
    heard = dataclasses.replace(
        contest, state=result, outcome=outcome, decided_by=principal.name, reason=cmd.reason, decided_at=now
    )
    after = dataclasses.replace(d, contests=tuple(heard if c is contest else c for c in d.contests))
    done = dataclasses.replace(task, state=TaskState.DONE)
    updates = [
        Update(done, task_guard(task), f"task {task.task_id} was submitted or reclaimed meanwhile"),
        Update(after, {"contests": (d.contests,)}, f"decision {d.decision_id} changed meanwhile"),
    ]
    body = {
        "task_id": task.task_id,
        "result": result,
        "original_outcome": before,
        "outcome": outcome,
        "action": cmd.action.value,
        "reason": cmd.reason,
        "filed_at": iso_utc(contest.filed_at),
    }
    events = [event(after, CONTEST_DECIDED, principal.name, body, now)]
    if result == "reversed":
        after = correct(after, cmd, outcome, principal, now, updates, events, via="contest")
    return Change(updates=tuple(updates), events=tuple(events)), after, done
