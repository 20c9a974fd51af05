"""The reviewer's pages: a queue, "next task" (claim), the case view, and the sign-off.

Every check lives in the use cases (``ReviewService``): these handlers only translate a form
into a command and a result into a page. Writes are awaited on the console's event loop
through the service's planned operations; reads run on a worker thread.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gateway.console import usecases
from gateway.console.web import Console, checked_form, console_of, redirect, render, signed_in
from gateway.errors import InvalidRequest, NotFound, PermissionDenied, PreconditionFailed
from gateway.review.commands import SubmitCommand
from gateway.review.four_eyes import quorum_for
from gateway.review.model import Action, Principal, Task, TaskState
from gateway.review.quorum import valid_votes

__all__ = ["case_context", "claim", "initial", "queue_page", "release", "renew", "submit", "task_page"]

log = structlog.get_logger("signoff.console")
_ACTIONS = {a.value.lower(): a for a in Action}


def is_blind(task: Task) -> bool:
    """Whether the case view withholds the proposal: a blind-first task not yet revealed to its
    holder (``RecordInitialOutcome``). The case view asks only here; the use cases withhold it too."""
    return task.blind and task.revealed_at is None


async def queue_page(request: Request) -> Response:
    """GET /queues/{queue}: depth, age of the oldest task, and the "next task" button."""
    session = signed_in(request)
    console = console_of(request)
    queue = request.path_params["queue"]
    context = await _queue_context(console, session.principal, queue)
    context["notice"] = request.query_params.get("done", "")
    return render(request, "queue.html", context, session=session)


async def _queue_context(console: Console, principal: Principal, queue: str) -> dict[str, Any]:
    from gateway.console.signin import queue_rows

    await usecases.may_review(console.service, principal, queue)
    return {"queue": queue, "row": (await queue_rows(console, [queue]))[0], "empty": False}


async def claim(request: Request) -> Response:
    """POST /queues/{queue}/claim: lease the next task and open it."""
    session = signed_in(request)
    await checked_form(request, session)
    console = console_of(request)
    queue = request.path_params["queue"]
    claimed = await usecases.claim_next(console.service, session.principal, queue)
    if claimed is None:
        context = await _queue_context(console, session.principal, queue)
        context["empty"] = True
        context["notice"] = ""
        return render(request, "queue.html", context, session=session)
    task, _ = claimed
    log.info("console_claimed", task_id=task.task_id, queue=queue, principal=session.principal.name)
    return redirect(f"/tasks/{task.task_id}")


async def _task(console: Console, principal: Principal, task_id: str, require_own: bool) -> Task:
    task = await usecases.task(console.service, task_id)
    if task is None:
        raise NotFound(f"no task {task_id!r}")
    if require_own and task.claimed_by != principal.name:
        raise PermissionDenied(f"task {task_id} is not claimed by {principal.name}")
    return task


_RECEIPT = frozenset({"decision_received", "gold_injected"})
"""How a case came to be: left out of the reviewer's event list, which starts at its routing. A
gold case (``review/gold.py``) is injected, not received; with its first event shown, a reviewer
could tell it from a real one."""


async def case_context(
    console: Console, principal: Principal, task_id: str, require_own: bool = True
) -> dict[str, Any]:
    """Everything the case view shows for a task.

    ``require_own``: only for the task's holder (the normal view); False after a refused
    submit, to show how the case now stands to a reviewer who may see the decision.
    """
    task = await _task(console, principal, task_id, require_own)
    decision = await usecases.get_decision(console.service, principal, task.decision_id)
    policy = console.service.policies.get(decision.decision_type)
    events = await run_in_threadpool(lambda: list(console.reader.events(decision_id=decision.decision_id)))
    now = console.service.clock.now()
    live = (
        task.state is TaskState.CLAIMED
        and task.claimed_by == principal.name
        and task.lease_expires_at is not None
        and task.lease_expires_at > now
    )
    blind = is_blind(task)
    quorum = quorum_for(policy, decision, task)
    return {
        "task": task,
        "decision": decision,
        "blind": blind,
        "proposal": None if blind else decision.proposal,
        "outcomes": list(policy.outcomes) if policy is not None else [],
        "events": [
            {"seq": e.seq, "time": e.time, "type": e.type, "actor": e.actor} for e in events if e.type not in _RECEIPT
        ],
        "live": live,
        # Four-eyes: how many distinct reviewers, and how many votes count so far; never whose or
        # which outcome (a reviewer who saw the first vote would be anchored on it).
        "quorum": None
        if quorum.reviewers <= 1
        else {"reviewers": quorum.reviewers, "agreement": quorum.agreement, "given": len(valid_votes(task.votes))},
        "lease_left": max(0, int((task.lease_expires_at - now).total_seconds())) if task.lease_expires_at else 0,
        "form": {"action": "", "outcome": "", "reason": "", "payload": ""},
        "message": "",
    }


async def task_page(request: Request) -> Response:
    """GET /tasks/{task_id}: the case view, or how the case now stands."""
    session = signed_in(request)
    console = console_of(request)
    context = await case_context(console, session.principal, request.path_params["task_id"])
    return render(request, "task.html", context, session=session)


def _command(task_id: str, form: dict[str, str]) -> SubmitCommand:
    action = _ACTIONS.get(form.get("action", "").lower())
    if action is None:
        raise InvalidRequest("action", "choose approve, edit, override or reject")
    payload: dict[str, Any] = {}
    raw = form.get("payload", "").strip()
    if raw:
        try:
            payload = json.loads(raw)
        except ValueError:
            raise InvalidRequest("payload", 'must be a JSON object, like {"amount": 900}') from None
        if not isinstance(payload, dict):
            raise InvalidRequest("payload", 'must be a JSON object, like {"amount": 900}')
    return SubmitCommand(
        task_id=task_id,
        action=action,
        outcome=form.get("outcome", "").strip(),
        payload=payload,
        reason=form.get("reason", ""),
        active_seconds=active_seconds(form),
    )


def active_seconds(form: dict[str, str]) -> float | None:
    """The active time on task the page measured (visibility- and idle-aware); None without JS."""
    raw = form.get("active_ms", "").strip()
    if not raw:
        return None
    try:
        ms = float(raw)
    except ValueError:
        raise InvalidRequest("active_ms", "must be a number of milliseconds") from None
    if not 0 <= ms < 7 * 24 * 3600 * 1000:
        raise InvalidRequest("active_ms", "must be between 0 and a week")
    return round(ms / 1000, 3)


async def submit(request: Request) -> Response:
    """POST /tasks/{task_id}/submit: sign off; a refused form keeps what was typed."""
    session = signed_in(request)
    form = dict(await checked_form(request, session))
    console = console_of(request)
    task_id = request.path_params["task_id"]
    try:
        cmd = _command(task_id, form)
        decision, task = await usecases.submit(console.service, session.principal, cmd)
    except (InvalidRequest, PreconditionFailed) as exc:
        context = await case_context(console, session.principal, task_id, isinstance(exc, InvalidRequest))
        context["message"] = str(exc)
        if isinstance(exc, InvalidRequest):
            context["form"] = {k: form.get(k, "") for k in ("action", "outcome", "reason", "payload")}
        return render(
            request, "task.html", context, status=400 if isinstance(exc, InvalidRequest) else 409, session=session
        )
    # The use case records the measured active time in the review_submitted event.
    log.info(
        "console_review_submitted",
        task_id=task.task_id,
        decision_id=decision.decision_id,
        action=cmd.action.value if cmd.action else "",
        principal=session.principal.name,
        active_seconds=cmd.active_seconds,
    )
    verb = cmd.action.value.lower() if cmd.action else ""
    if decision.status.final:
        note = f"Signed off: {verb} → {decision.final_outcome or decision.status.value}"
    else:  # a four-eyes vote (or a disagreement sent on): the decision waits for another reviewer
        note = f"Your vote ({verb}) is recorded; the decision is {decision.status.value} until the other reviewers sign"
    from urllib.parse import quote

    return redirect(f"/queues/{quote(task.queue)}?done={quote(note)}")


async def initial(request: Request) -> Response:
    """POST /tasks/{task_id}/initial: a blind task's initial outcome; the case then shows the proposal."""
    session = signed_in(request)
    form = dict(await checked_form(request, session))
    console = console_of(request)
    task_id = request.path_params["task_id"]
    outcome = form.get("initial_outcome", "").strip()
    try:
        await usecases.record_initial(console.service, session.principal, task_id, outcome)
    except (InvalidRequest, PreconditionFailed) as exc:
        context = await case_context(console, session.principal, task_id, isinstance(exc, InvalidRequest))
        context["message"] = str(exc)
        return render(
            request, "task.html", context, status=400 if isinstance(exc, InvalidRequest) else 409, session=session
        )
    log.info("console_initial_recorded", task_id=task_id, principal=session.principal.name)
    return redirect(f"/tasks/{task_id}")


async def release(request: Request) -> Response:
    """POST /tasks/{task_id}/release: hand the task back to its queue."""
    session = signed_in(request)
    form = await checked_form(request, session)
    console = console_of(request)
    task = await usecases.release(
        console.service,
        session.principal,
        request.path_params["task_id"],
        form.get("reason", "") or "released from the console",
    )
    from urllib.parse import quote

    return redirect(f"/queues/{quote(task.queue)}?done={quote('Released the task back to the queue.')}")


async def renew(request: Request) -> Response:
    """POST /tasks/{task_id}/renew: extend the lease, back to the case."""
    session = signed_in(request)
    await checked_form(request, session)
    console = console_of(request)
    task_id = request.path_params["task_id"]
    try:
        await usecases.renew(console.service, session.principal, task_id)
    except PreconditionFailed as exc:
        context = await case_context(console, session.principal, task_id, False)
        context["message"] = str(exc)
        return render(request, "task.html", context, status=409, session=session)
    return redirect(f"/tasks/{task_id}")
