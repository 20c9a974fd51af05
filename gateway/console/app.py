"""The console's Starlette application: routes, static files, security headers, error pages.

``build_console_app(console)`` is the one entry point; ``gateway.bootstrap`` serves it in the
gateway's own process. A domain error becomes a page through ``console/errors.py``; anything
unexpected becomes a plain 500 page with a reference, never a trace.
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.console import audit_pages, review_pages, signin
from gateway.console.errors import http_status_for, public_message
from gateway.console.web import HERE, Console, SignInNeeded, error_page, redirect, session_or_none
from gateway.errors import SignoffError

__all__ = ["build_console_app"]

log = structlog.get_logger("signoff.console")

#: Scripts and styles only from the console's own static files: an escaping slip elsewhere
#: still could not run an injected script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Adds the CSP and friends to every response (pure ASGI, no per-request task)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(h for h in _HEADERS if not (static and h[0] == b"cache-control"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignoffError)
    status = http_status_for(exc)
    titles = {
        400: "That request cannot be used",
        401: "Sign in again",
        403: "Not yours to open",
        404: "Not found",
        409: "This case has moved on",
        503: "Try again shortly",
    }
    log.info("console_refused", path=request.url.path, status=status, error=type(exc).__name__)
    return error_page(
        request, status, titles.get(status, "Something went wrong"), public_message(exc), session_or_none(request)
    )


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    if request.method == "GET":
        return redirect("/signin?expired=1" if exc.expired else "/signin")
    message = (
        "Your session ended while you were away; nothing was submitted. Sign in and open the task again."
        if exc.expired
        else "Sign in first."
    )
    return error_page(request, 401, "Sign in again", message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = {404: "Not found", 405: "Not allowed here"}.get(exc.status_code, "That request cannot be used")
    message = {404: "There is no page at this address.", 405: "This address does not take that kind of request."}.get(
        exc.status_code, ""
    )
    return error_page(request, exc.status_code, title, message, session_or_none(request))


async def _crash(request: Request, exc: Exception) -> Response:
    ref = secrets.token_hex(6)
    log.exception("console_error", path=request.url.path, ref=ref)
    return error_page(
        request,
        500,
        "Something went wrong",
        f"The gateway could not show this page. Reference {ref} (in the gateway's log).",
    )


def build_console_app(console: Console) -> Any:
    """The console as an ASGI application."""
    routes = [
        Route("/", signin.home),
        Route("/signin", signin.signin_form, methods=["GET"]),
        Route("/signin", signin.signin_submit, methods=["POST"]),
        Route("/signout", signin.signout, methods=["POST"]),
        Route("/queues/{queue}", review_pages.queue_page),
        Route("/queues/{queue}/claim", review_pages.claim, methods=["POST"]),
        Route("/tasks/{task_id}", review_pages.task_page),
        Route("/tasks/{task_id}/submit", review_pages.submit, methods=["POST"]),
        Route("/tasks/{task_id}/initial", review_pages.initial, methods=["POST"]),
        Route("/tasks/{task_id}/release", review_pages.release, methods=["POST"]),
        Route("/tasks/{task_id}/renew", review_pages.renew, methods=["POST"]),
        Route("/audit/decisions", audit_pages.decision_search),
        Route("/audit/decisions/{decision_id}", audit_pages.decision_trail),
        Route("/audit/reviewers", audit_pages.reviewers),
        Route("/audit/report", audit_pages.report),
        Route("/audit/report.html", audit_pages.report),
        Route("/policies", audit_pages.policies),
        Route("/policies/{name}/diff", audit_pages.policy_diff),
        Route("/policies/{name}/{version}", audit_pages.policy_text),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            SignoffError: _domain_error,
            SignInNeeded: _sign_in,
            HTTPException: _http_error,
            Exception: _crash,
        },
    )
    app.state.console = console
    return SecurityHeaders(app)
