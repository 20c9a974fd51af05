"""What every console page shares: its dependencies, the signed-in session, CSRF checks and
rendering through autoescaped Jinja2 templates.

A handler asks ``signed_in(request)`` for the session (or is sent to sign in), checks a form
with ``checked_form``, and answers with ``render``. Domain errors raised by the use cases
become error pages through one table (``console/errors.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.sessions import Session, SessionStore, same_token
from gateway.errors import InvalidRequest, SignoffError, Unauthenticated
from gateway.review.access import is_auditor, reviewable_queues
from gateway.review.model import Principal

__all__ = [
    "COOKIE",
    "Console",
    "ConsoleConfig",
    "SignInNeeded",
    "TokenCheck",
    "checked_form",
    "render",
    "signed_in",
]

COOKIE = "signoff_session"
PRE_COOKIE = "signoff_signin"
HERE = Path(__file__).resolve().parent


class TokenCheck(Protocol):
    """Resolves bearer-token metadata to a principal (the gRPC ``Authenticator`` does)."""

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> Principal: ...


@dataclass(frozen=True)
class ConsoleConfig:
    """How the console signs people in.

    ``trusted_proxy_header``: take the principal's *name* from this request header, set by an
    authenticating reverse proxy (oauth2-proxy's ``X-Forwarded-User``), instead of a token.
    Off when empty. Only requests from ``trusted_proxy_addresses`` may use it.
    """

    idle_seconds: float = 15 * 60
    secure_cookies: bool = False
    trusted_proxy_header: str = ""
    trusted_proxy_addresses: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    idle_cutoff_seconds: int = 60


@dataclass
class Console:
    """The console's dependencies, wired by ``gateway.bootstrap``."""

    service: Any  # gateway.review.service.ReviewService
    tokens: TokenCheck
    principal_named: Callable[[str], Principal | None]
    reader: Any  # the audit reader: decision_page, trail, events, verify
    report: Callable[[datetime, datetime, bool], dict[str, Any]]
    report_html: Callable[[dict[str, Any]], str]
    config: ConsoleConfig = field(default_factory=ConsoleConfig)
    sessions: SessionStore | None = None
    templates: jinja2.Environment | None = None

    def __post_init__(self) -> None:
        if self.sessions is None:
            self.sessions = SessionStore(self.config.idle_seconds)
        if self.templates is None:
            self.templates = make_templates()


class SignInNeeded(Exception):
    """The request has no live session: send the browser to the sign-in page."""

    def __init__(self, expired: bool) -> None:
        super().__init__("sign-in needed")
        self.expired = expired


def _tojson(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str)


def make_templates() -> jinja2.Environment:
    """The console's templates, every expression HTML-escaped."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship with the package: no stat() per page
    )
    env.filters["pretty"] = _tojson
    return env


def console_of(request: Request) -> Console:
    """The ``Console`` this app was built with."""
    return request.app.state.console  # type: ignore[no-any-return]


def _proxy_session(request: Request, console: Console) -> Session | None:
    cfg = console.config
    header = cfg.trusted_proxy_header
    if not header:
        return None
    name = request.headers.get(header, "")
    client = request.client.host if request.client else ""
    if not name or client not in cfg.trusted_proxy_addresses:
        return None
    assert console.sessions is not None
    session, _ = console.sessions.touch(request.cookies.get(COOKIE, ""))
    if session is not None and session.principal.name == name:
        return session
    principal = console.principal_named(name)
    if principal is None:
        raise Unauthenticated(f"the proxy's user {name!r} is not in the principals file")
    session = console.sessions.create(principal, via_proxy=True)
    request.state.new_session = session
    return session


def signed_in(request: Request) -> Session:
    """The request's live session, or ``SignInNeeded``."""
    console = console_of(request)
    proxied = _proxy_session(request, console)
    if proxied is not None:
        return proxied
    assert console.sessions is not None
    session, expired = console.sessions.touch(request.cookies.get(COOKIE, ""))
    if session is None:
        raise SignInNeeded(expired)
    return session


async def checked_form(request: Request, session: Session) -> Mapping[str, str]:
    """The posted form, after its CSRF token matched the session's; else ``InvalidRequest``."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not same_token(values.get("csrf", ""), session.csrf):
        raise InvalidRequest("csrf", "the form's security token is missing or stale; reload the page and try again")
    return values


def nav(principal: Principal, console: Console) -> dict[str, Any]:
    """What the header shows the principal."""
    queues = reviewable_queues(principal, console.service.policies.all())
    return {"queues": queues, "auditor": is_auditor(principal)}


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    session: Session | None = None,
) -> Response:
    """Render a page; a new session made on the way (proxy mode) sets its cookie."""
    console = console_of(request)
    assert console.templates is not None
    ctx: dict[str, Any] = {
        "session": session,
        "principal": session.principal if session else None,
        "nav": nav(session.principal, console) if session else {"queues": [], "auditor": False},
        "csrf": session.csrf if session else "",
        "path": request.url.path,
        "idle_cutoff": console.config.idle_cutoff_seconds,
        **(context or {}),
    }
    html = console.templates.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status)
    new = getattr(request.state, "new_session", None)
    if new is not None:
        set_session_cookie(response, new, console.config)
    return response


def set_session_cookie(response: Response, session: Session, config: ConsoleConfig) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure under TLS."""
    response.set_cookie(COOKIE, session.sid, httponly=True, samesite="strict", secure=config.secure_cookies, path="/")


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other: after a POST, the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, title: str, message: str, session: Session | None = None) -> Response:
    """A readable error page: what went wrong, and no internals."""
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status=status, session=session
    )


def session_or_none(request: Request) -> Session | None:
    """The live session if there is one (for error pages), without touching expiry rules."""
    try:
        return signed_in(request)
    except (SignInNeeded, SignoffError):
        return None
