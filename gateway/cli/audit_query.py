"""``signoff audit query decisions|events``: filter the logs through the gateway, page by page.

Output is a table for people, JSON Lines (the API's JSON, one object a line) or CSV (flat
columns, one header). Without ``--all`` one page is printed and, when there is more, the
``--page-token`` for the next page goes to stderr; ``--all`` follows the tokens to the end.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from google.protobuf import timestamp_pb2

from audit.verify import STORED_COLUMNS
from gateway.cli import CommandError
from gateway.cli.client import add_connection_flags, call, channel, metadata, to_json
from signoff.v1 import audit_pb2, audit_pb2_grpc, decision_pb2

__all__ = ["register"]

_DECISION_COLUMNS = (
    "created_at",
    "decision_id",
    "decision_type",
    "subject_ref",
    "status",
    "route",
    "queue",
    "rule",
    "policy_name",
    "policy_version",
    "policy_digest",
    "proposal_outcome",
    "proposal_confidence",
    "model",
    "model_version",
    "final_outcome",
    "action",
    "reviewer",
    "review_reason",
    "decided_at",
    "sampled",
    "correction_outcome",
    "correction_action",
    "overridden",
)
_DECISION_TABLE = (
    "created_at",
    "decision_id",
    "decision_type",
    "status",
    "route",
    "policy",
    "proposal_outcome",
    "proposal_confidence",
    "final_outcome",
    "action",
    "reviewer",
    "subject_ref",
)
_EVENT_COLUMNS = STORED_COLUMNS
_EVENT_TABLE = ("seq", "time", "type", "actor", "decision_id", "policy", "body_json")
_WIDTHS = {
    "created_at": 26,
    "time": 26,
    "decision_id": 36,
    "decision_type": 16,
    "status": 14,
    "route": 8,
    "policy": 22,
    "proposal_outcome": 10,
    "proposal_confidence": 6,
    "final_outcome": 10,
    "action": 9,
    "reviewer": 10,
    "seq": 8,
    "type": 19,
    "actor": 16,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``query decisions`` and ``query events`` under ``signoff audit``."""
    q = sub.add_parser("query", help="query the decision or event log through the gateway (auditor token)")
    qs = q.add_subparsers(dest="query_kind", metavar="LOG", parser_class=type(q))
    qs.required = True

    d = qs.add_parser("decisions", help="decisions, oldest first")
    d.add_argument("--route", default="", help="'auto' or a queue name")
    d.add_argument("--queue", default="")
    d.add_argument("--reviewer", default="", help="the principal who signed off")
    d.add_argument("--action", default="", help="approve, edit, override or reject")
    over = d.add_mutually_exclusive_group()
    over.add_argument(
        "--overridden",
        dest="overridden",
        action="store_true",
        default=None,
        help="only decisions a human edited or overrode, or an audit corrected",
    )
    over.add_argument(
        "--not-overridden", dest="overridden", action="store_false", help="only decisions no human changed"
    )
    d.add_argument("--subject", default="", help="the pseudonymous subject reference")
    d.add_argument("--status", default="", help="auto_decided, pending_review, in_review, human_decided, expired")
    d.set_defaults(handler=_decisions)

    e = qs.add_parser("events", help="audit events in sequence order")
    e.add_argument("--type", action="append", default=[], help="only this event type (repeatable)")
    e.add_argument("--actor", default="", help="only events caused by this principal")
    e.set_defaults(handler=_events)

    for p in (d, e):
        p.add_argument(
            "--from",
            dest="since",
            default="",
            metavar="ISO",
            help="from this time, inclusive (ISO-8601; no zone means UTC)",
        )
        p.add_argument("--to", dest="until", default="", metavar="ISO", help="to this time, exclusive")
        p.add_argument("--decision-type", default="")
        p.add_argument("--policy", default="", metavar="NAME[@VERSION]", help="policy name, optionally @version")
        p.add_argument("--decision", default="", help="one decision id")
        p.add_argument("--format", choices=("table", "jsonl", "csv"), default="table")
        p.add_argument("--page-size", type=int, default=100, help="rows per page (at most 1000)")
        p.add_argument("--page-token", default="", help="continue from a previous page")
        p.add_argument("--all", action="store_true", help="follow page tokens to the last page")
        add_connection_flags(p)


def _time(text: str, flag: str) -> timestamp_pb2.Timestamp | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag}: {text!r} is not an ISO-8601 time (e.g. 2026-11-24T09:00:00Z)") from None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC))
    return ts


def _policy(text: str) -> tuple[str, int]:
    name, _, version = text.partition("@")
    if not version:
        return name, 0
    try:
        number = int(version.removeprefix("v"))
    except ValueError:
        number = -1
    if number < 1 or not name:
        raise CommandError(f"--policy: {text!r} is not NAME or NAME@VERSION (a positive integer)")
    return name, number


def _common(args: argparse.Namespace) -> dict[str, Any]:
    if args.page_size < 0:
        raise CommandError("--page-size: must not be negative")
    name, version = _policy(args.policy)
    fields: dict[str, Any] = {
        "decision_type": args.decision_type,
        "decision_id": args.decision,
        "policy_name": name,
        "policy_version": version,
        "page_size": args.page_size,
    }
    for key, flag in (("since", "--from"), ("until", "--to")):
        ts = _time(getattr(args, key), flag)
        if ts is not None:
            fields[key] = ts
    return fields


def _pages(args: argparse.Namespace, fetch: Callable[[str], Any]) -> Iterator[Any]:
    token = args.page_token
    while True:
        page = call(lambda: fetch(token))  # noqa: B023 - called at once
        yield page
        token = page.next_page_token
        if not token:
            return
        if not args.all:
            print(f"signoff: more results: --page-token {token}", file=sys.stderr)
            return


def _iso(ts: timestamp_pb2.Timestamp, present: bool = True) -> str:
    if not present:
        return ""
    return ts.ToDatetime(tzinfo=UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _enum(enum: Any, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix) if value else ""


def _decision_row(d: decision_pb2.Decision) -> dict[str, str]:
    action = _enum(decision_pb2.ReviewAction, d.action, "REVIEW_ACTION_")
    corrected = d.HasField("correction")
    return {
        "created_at": _iso(d.created_at),
        "decision_id": d.decision_id,
        "decision_type": d.decision_type,
        "subject_ref": d.subject_ref,
        "status": _enum(decision_pb2.DecisionStatus, d.status, "DECISION_STATUS_"),
        "route": d.route,
        "queue": d.queue,
        "rule": d.rule,
        "policy_name": d.policy.name,
        "policy_version": str(d.policy.version),
        "policy_digest": d.policy.digest,
        "policy": f"{d.policy.name}@{d.policy.version}",
        "proposal_outcome": d.proposal.outcome,
        "proposal_confidence": f"{d.proposal.confidence:.4f}",
        "model": d.proposal.model,
        "model_version": d.proposal.model_version,
        "final_outcome": d.final_outcome,
        "action": action,
        "reviewer": d.reviewer,
        "review_reason": d.review_reason,
        "decided_at": _iso(d.decided_at, d.HasField("decided_at")),
        "sampled": str(d.sampled).lower(),
        "correction_outcome": d.correction.outcome if corrected else "",
        "correction_action": _enum(decision_pb2.ReviewAction, d.correction.action, "REVIEW_ACTION_")
        if corrected
        else "",
        "overridden": str(action in ("EDIT", "OVERRIDE") or corrected).lower(),
    }


def _event_row(e: audit_pb2.AuditEvent) -> dict[str, str]:
    return {
        "seq": str(e.seq),
        "time": _iso(e.time),
        "type": e.type,
        "decision_id": e.decision_id,
        "decision_type": e.decision_type,
        "actor": e.actor,
        "policy_name": e.policy.name,
        "policy_version": str(e.policy.version),
        "policy_digest": e.policy.digest,
        "policy": f"{e.policy.name}@{e.policy.version}" if e.policy.name else "",
        "body_json": e.body_json,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


def _emit(
    args: argparse.Namespace,
    pages: Iterator[list[Any]],
    row: Callable[[Any], dict[str, str]],
    csv_columns: tuple[str, ...],
    table_columns: tuple[str, ...],
    out: TextIO,
) -> None:
    first = next(pages)  # a bad request fails here, before any header is written
    pages = itertools.chain([first], pages)
    if args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=csv_columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
    elif args.format == "table":
        out.write(_table_line({c: c for c in table_columns}, table_columns))
    for items in pages:
        for item in items:
            if args.format == "jsonl":
                out.write(to_json(item) + "\n")
            elif args.format == "csv":
                writer.writerow(row(item))
            else:
                out.write(_table_line(row(item), table_columns))
        out.flush()


def _table_line(values: dict[str, str], columns: tuple[str, ...]) -> str:
    return "  ".join(values.get(c, "").ljust(_WIDTHS.get(c, 0)) for c in columns).rstrip() + "\n"


def _decisions(args: argparse.Namespace) -> int:
    fields = _common(args)
    fields.update(
        route=args.route,
        queue=args.queue,
        reviewer=args.reviewer,
        action=args.action,
        subject_ref=args.subject,
        status=args.status,
    )
    if args.overridden is not None:
        fields["overridden"] = args.overridden
    with channel(args) as ch:
        stub = audit_pb2_grpc.AuditServiceStub(ch)
        md = metadata(args)

        def fetch(token: str) -> audit_pb2.QueryDecisionsResponse:
            req = audit_pb2.QueryDecisionsRequest(page_token=token, **fields)
            return stub.QueryDecisions(req, metadata=md, timeout=args.timeout)

        pages = (p.decisions for p in _pages(args, fetch))
        _emit(args, pages, _decision_row, _DECISION_COLUMNS, _DECISION_TABLE, sys.stdout)
    return 0


def _events(args: argparse.Namespace) -> int:
    fields = _common(args)
    fields.update(types=args.type, actor=args.actor)
    with channel(args) as ch:
        stub = audit_pb2_grpc.AuditServiceStub(ch)
        md = metadata(args)

        def fetch(token: str) -> audit_pb2.ListEventsResponse:
            req = audit_pb2.ListEventsRequest(page_token=token, **fields)
            return stub.ListEvents(req, metadata=md, timeout=args.timeout)

        pages = (p.events for p in _pages(args, fetch))
        _emit(args, pages, _event_row, _EVENT_COLUMNS, _EVENT_TABLE, sys.stdout)
    return 0
