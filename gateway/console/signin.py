"""Sign-in with the gRPC bearer token, sign-out, and the home page.

The sign-in form carries its own CSRF token (a short-lived cookie matched against the form,
since there is no session yet); a wrong token gets a message on the page, never a trace.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import Response

from gateway.console import usecases
from gateway.console.sessions import new_token, same_token
from gateway.console.web import (
    COOKIE,
    PRE_COOKIE,
    SignInNeeded,
    checked_form,
    console_of,
    nav,
    redirect,
    render,
    set_session_cookie,
    signed_in,
)
from gateway.errors import Unauthenticated
from gateway.policy.model import Sla
from gateway.review.sla import deadline, sla_state

__all__ = ["home", "signin_form", "signin_submit", "signout"]

log = structlog.get_logger("signoff.console")


def _signin_page(request: Request, message: str, status: int) -> Response:
    pre = new_token()
    response = render(request, "signin.html", {"message": message, "pre_csrf": pre}, status=status)
    cfg = console_of(request).config
    response.set_cookie(
        PRE_COOKIE, pre, httponly=True, samesite="strict", secure=cfg.secure_cookies, path="/signin", max_age=3600
    )
    return response


async def signin_form(request: Request) -> Response:
    """GET /signin: the token form (or a note that the session expired)."""
    message = ""
    if request.query_params.get("expired"):
        minutes = round(console_of(request).config.idle_seconds / 60)
        message = f"Your session ended after {minutes} minutes without activity. Sign in again."
    return _signin_page(request, message, 200)


async def signin_submit(request: Request) -> Response:
    """POST /signin: check the token, start a session, go home."""
    console = console_of(request)
    form = await request.form()
    token = str(form.get("token", "")).strip()
    if not same_token(str(form.get("csrf", "")), request.cookies.get(PRE_COOKIE, "")):
        return _signin_page(request, "The sign-in form expired; please enter your token again.", 400)
    if not token:
        return _signin_page(request, "token: enter your access token.", 400)
    try:
        principal = console.tokens.authenticate([("authorization", f"Bearer {token}")])
    except Unauthenticated:
        log.info("console_signin_refused")
        return _signin_page(request, "That token is not known to this gateway.", 401)
    assert console.sessions is not None
    session = console.sessions.create(principal)
    log.info("console_signed_in", principal=principal.name)
    response = redirect("/")
    set_session_cookie(response, session, console.config)
    response.delete_cookie(PRE_COOKIE, path="/signin")
    return response


async def signout(request: Request) -> Response:
    """POST /signout: end the session."""
    session = signed_in(request)
    await checked_form(request, session)
    console = console_of(request)
    assert console.sessions is not None
    console.sessions.end(session.sid)
    log.info("console_signed_out", principal=session.principal.name)
    response = redirect("/signin")
    response.delete_cookie(COOKIE, path="/")
    return response


async def home(request: Request) -> Response:
    """GET /: the queues the principal may work, with depth, oldest age and SLA state."""
    try:
        session = signed_in(request)
    except SignInNeeded as exc:
        return redirect("/signin?expired=1" if exc.expired else "/signin")
    console = console_of(request)
    queues = nav(session.principal, console)["queues"]
    rows = await queue_rows(console, queues) if queues else []
    return render(request, "home.html", {"rows": rows}, session=session)


async def queue_rows(console: object, queues: list[str]) -> list[dict[str, object]]:
    """Depth, age of the oldest task, and SLA state for each queue."""
    now = console.service.clock.now()  # type: ignore[attr-defined]
    depths = await usecases.queue_depths(console.service, now)  # type: ignore[attr-defined]
    rows = []
    for q in queues:
        depth, oldest = depths.get(q, (0, None))
        age = (now - oldest).total_seconds() if oldest is not None else None
        sla = queue_sla(console.service.policies.all(), q)  # type: ignore[attr-defined]
        rows.append(
            {"queue": q, "depth": depth, "oldest_seconds": age, "oldest": oldest, "sla": sla_text(sla, oldest, now)}
        )
    return rows


def queue_sla(policies: Iterable[Any], queue: str) -> Sla | None:
    """The strictest SLA any loaded policy sets on ``queue`` (the earliest due time), or None."""
    slas = [p.queues[queue].sla for p in policies if queue in p.queues and p.queues[queue].sla is not None]
    return min(slas, key=lambda s: s.due_seconds, default=None)


def sla_text(sla: Sla | None, oldest: datetime | None, now: datetime) -> str:
    """The queue's SLA state as its oldest task stands: ok, warning or breached, with the due time."""
    if sla is None:
        return "no SLA set"
    due = _span(sla.due_seconds)
    if oldest is None:
        return f"ok (due within {due})"
    state = sla_state(now, deadline(oldest, sla))
    return {
        "ok": f"ok (due within {due})",
        "warning": f"warning: the oldest is near its {due} due time",
        "breached": f"breached: the oldest is past its {due} due time",
    }[state]


def _span(seconds: int) -> str:
    if seconds % 86400 == 0:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"
