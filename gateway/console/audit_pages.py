"""The auditor's pages: decision search (QueryDecisions' filters), one decision's trail with
its chain status, the compliance report, and policy versions with their text and a diff.

Read-only. Every page checks the auditor role through ``gateway.review.access``, the table the
gRPC audit servicer uses too; policy texts, like ``PolicyService``, any signed-in principal.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from gateway.console import usecases
from gateway.console.web import console_of, render, signed_in
from gateway.errors import InvalidRequest, NotFound
from gateway.review.access import require_auditor

__all__ = [
    "decision_search",
    "decision_trail",
    "parse_time",
    "policies",
    "policy_diff",
    "policy_text",
    "report",
    "reviewers",
]

#: The search form's fields: (query parameter, label).
FILTERS = (
    ("from", "From (UTC)"),
    ("to", "To (UTC)"),
    ("decision_type", "Decision type"),
    ("policy", "Policy (name or name@version)"),
    ("route", "Route"),
    ("queue", "Queue"),
    ("reviewer", "Reviewer"),
    ("action", "Action"),
    ("status", "Status"),
    ("subject", "Subject"),
    ("decision", "Decision id"),
    ("overridden", "Overridden"),
)


def parse_time(value: str, field: str) -> datetime | None:
    """An ISO-8601 date or time (no zone: UTC), or None when blank."""
    value = value.strip()
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            field, f"{value!r} is not an ISO-8601 date or time, like 2026-03-01 or 2026-03-01T09:00"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _filters(q: dict[str, str]) -> dict[str, Any]:
    policy = q.get("policy", "").strip()
    name, _, version = policy.partition("@")
    if version and not version.isdigit():
        raise InvalidRequest("policy", "write NAME or NAME@VERSION, the version a whole number")
    overridden = {"": None, "any": None, "yes": True, "no": False}.get(q.get("overridden", ""), "bad")
    if overridden == "bad":
        raise InvalidRequest("overridden", "must be any, yes or no")
    since, until = parse_time(q.get("from", ""), "from"), parse_time(q.get("to", ""), "to")
    if since and until and since > until:
        raise InvalidRequest("from", "is after to")
    return {
        "since": since,
        "until": until,
        "decision_type": q.get("decision_type", "").strip() or None,
        "policy_name": name or None,
        "policy_version": int(version) if version else 0,
        "route": q.get("route", "").strip() or None,
        "queue": q.get("queue", "").strip() or None,
        "reviewer": q.get("reviewer", "").strip() or None,
        "action": q.get("action", "").strip() or None,
        "status": q.get("status", "").strip() or None,
        "subject_ref": q.get("subject", "").strip() or None,
        "decision_id": q.get("decision", "").strip() or None,
        "overridden": overridden,
    }


async def decision_search(request: Request) -> Response:
    """GET /audit/decisions: the search form and one page of results."""
    session = signed_in(request)
    require_auditor(session.principal)
    console = console_of(request)
    q = {k: v for k, v in request.query_params.items()}
    context: dict[str, Any] = {"q": q, "fields": FILTERS, "results": None, "next_token": "", "message": ""}
    if any(q.get(k) for k, _ in FILTERS) or q.get("search"):
        try:
            filters = _filters(q)
            page = await run_in_threadpool(console.reader.decision_page, filters, 50, q.get("page_token", ""))
        except InvalidRequest as exc:
            context["message"] = str(exc)
            return render(request, "audit_search.html", context, status=400, session=session)
        context["results"], context["next_token"] = page.items, page.next_page_token
    template = "audit_results.html" if request.headers.get("HX-Request") else "audit_search.html"
    return render(request, template, context, session=session)


async def decision_trail(request: Request) -> Response:
    """GET /audit/decisions/{decision_id}: the explain view, with the events' chain status."""
    session = signed_in(request)
    require_auditor(session.principal)
    trail = await run_in_threadpool(console_of(request).reader.trail, request.path_params["decision_id"])
    return render(request, "audit_trail.html", {"trail": trail}, session=session)


def _period(q: dict[str, str]) -> tuple[datetime, datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    start = parse_time(q.get("from", ""), "from") or (now - timedelta(days=30))
    end = parse_time(q.get("to", ""), "to") or (now + timedelta(seconds=1))
    if start >= end:
        raise InvalidRequest("from", "must be before to")
    return start, end


async def report(request: Request) -> Response:
    """GET /audit/report (figures on the page) and /audit/report.html (the self-contained file)."""
    session = signed_in(request)
    require_auditor(session.principal)
    console = console_of(request)
    q = {k: v for k, v in request.query_params.items()}
    verify = q.get("verify", "") == "on"
    try:
        start, end = _period(q)
    except InvalidRequest as exc:
        return render(
            request, "audit_report.html", {"q": q, "report": None, "message": str(exc)}, status=400, session=session
        )
    data = await run_in_threadpool(console.report, start, end, verify)
    if request.url.path.endswith(".html"):
        return HTMLResponse(console.report_html(data))
    q.setdefault("from", start.isoformat())
    q.setdefault("to", end.isoformat())
    return render(request, "audit_report.html", {"q": q, "report": data, "message": ""}, session=session)


async def reviewers(request: Request) -> Response:
    """GET /audit/reviewers: each reviewer's sign-offs and override rate, then the evidence of
    engagement (``audit.reviewers``): claim-to-submit time, agreement on ordinary and blind
    tasks, gold accuracy and wrong gold let stand, kappa, and the rubber-stamp flags with their rules."""
    session = signed_in(request)
    require_auditor(session.principal)
    q = {k: v for k, v in request.query_params.items()}
    try:
        since, until = parse_time(q.get("from", ""), "from"), parse_time(q.get("to", ""), "to")
    except InvalidRequest as exc:
        empty = {
            "q": q,
            "groups": [],
            "evidence": [],
            "rules": console_of(request).reader.flag_rules(),
            "message": str(exc),
        }
        return render(request, "audit_reviewers.html", empty, status=400, session=session)
    reader = console_of(request).reader
    groups = await run_in_threadpool(reader.override_stats, ["reviewer"], since=since, until=until)
    evidence = await run_in_threadpool(partial(reader.reviewer_stats, since=since, until=until))
    page = {"q": q, "groups": groups, "evidence": evidence, "rules": reader.flag_rules(), "message": ""}
    return render(request, "audit_reviewers.html", page, session=session)


async def _stored(console: Any) -> list[Any]:
    return sorted(await usecases.stored_policies(console.service), key=lambda p: (p.ref.name, p.ref.version))


async def policies(request: Request) -> Response:
    """GET /policies: every stored policy version."""
    session = signed_in(request)
    console = console_of(request)
    stored = await _stored(console)
    active = {p.ref for p in console.service.policies.all()}
    return render(request, "policies.html", {"stored": stored, "active": active}, session=session)


async def _one(console: Any, name: str, version: int) -> Any:
    stored = await usecases.stored_policy(console.service, name, version)
    if stored is None:
        raise NotFound(f"no stored policy {name!r} version {version}")
    return stored


def _version(raw: str, field: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidRequest(field, "must be a version number (1, 2, ...)")
    return int(raw)


async def policy_text(request: Request) -> Response:
    """GET /policies/{name}/{version}: the stored text of one version."""
    session = signed_in(request)
    console = console_of(request)
    name = request.path_params["name"]
    version = _version(request.path_params["version"], "version")
    stored = await _one(console, name, version)
    versions = [p.ref.version for p in await _stored(console) if p.ref.name == name]
    return render(request, "policy.html", {"p": stored, "versions": versions}, session=session)


async def policy_diff(request: Request) -> Response:
    """GET /policies/{name}/diff?a=V&b=W: a unified diff between two stored versions."""
    session = signed_in(request)
    console = console_of(request)
    name = request.path_params["name"]
    a = _version(request.query_params.get("a", ""), "a")
    b = _version(request.query_params.get("b", ""), "b")
    old = await _one(console, name, a)
    new = await _one(console, name, b)
    lines = []
    for line in difflib.unified_diff(
        old.text.splitlines(), new.text.splitlines(), f"{name} v{a}", f"{name} v{b}", lineterm=""
    ):
        kind = (
            "add"
            if line.startswith("+")
            else "del"
            if line.startswith("-")
            else "hunk"
            if line.startswith("@@")
            else "ctx"
        )
        lines.append((kind, line))
    return render(request, "policy_diff.html", {"name": name, "a": old, "b": new, "lines": lines}, session=session)
