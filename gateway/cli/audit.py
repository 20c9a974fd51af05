"""``signoff audit``: verify the hash chain, tail and query the logs, print override statistics."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys

from gateway.cli.client import add_connection_flags, call, channel, metadata, to_json
from signoff.v1 import audit_pb2, audit_pb2_grpc

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``audit`` and ``token`` to the command tree."""
    p = sub.add_parser("audit", help="verify, tail and summarise the audit log")
    a = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=type(p))
    a.required = True

    v = a.add_parser("verify", help="recompute the hash chain straight from the database")
    v.add_argument(
        "--db",
        default=os.environ.get("SIGNOFF_DATABASE_URL", "sqlite:///var/signoff.db"),
        help="database URL (env SIGNOFF_DATABASE_URL; default sqlite:///var/signoff.db)",
    )
    v.add_argument("--json", action="store_true", help="print the report as JSON")
    v.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes walking seq ranges at once (default: the core count; 1: one walk)",
    )
    v.add_argument(
        "--checkpoints",
        metavar="DIR",
        default=None,
        help="also judge every signed checkpoint published in DIR against the database "
        "(a cut tail is reported as truncation, a rewritten stretch as a rewrite)",
    )
    v.add_argument(
        "--public-key",
        default=os.environ.get("SIGNOFF_PUBLIC_KEY", "var/keys/checkpoint.key.pub"),
        help="the deployment's public key (from `signoff keys init`; env SIGNOFF_PUBLIC_KEY)",
    )
    v.add_argument(
        "--signing-key",
        default=None,
        help="walk only what came after the last checkpoint this command verified and signed "
        "itself with this key, then sign the new head (incremental verification)",
    )
    v.add_argument(
        "--witness-key",
        metavar="VKEY_FILE",
        default=None,
        help="with --checkpoints: the witness's public key (a cosignature/v1 vkey); every published "
        "checkpoint must carry its cosignature, else it is reported unwitnessed and verify fails",
    )
    v.add_argument(
        "--witness",
        metavar="URL",
        default=None,
        help="ask this tlog-witness which checkpoint of the log it holds: one beyond the database head "
        "is reported as truncation with the missing range, one the checkpoints table lacks as a rollback",
    )
    v.add_argument("--witness-timeout", type=float, default=10.0, help="seconds to wait for --witness (default 10)")
    v.add_argument("--full", action="store_true", help="walk the whole chain even with --signing-key")
    v.add_argument(
        "--state",
        action="store_true",
        help="also check the decisions table against the events (status, final outcome, route)",
    )
    v.set_defaults(handler=_verify)

    t = a.add_parser("tail", help="print audit events through the gateway (auditor token)")
    t.add_argument("--decision", default="", help="only this decision's events")
    t.add_argument("--decision-type", default="", help="only this decision type")
    t.add_argument("--type", action="append", default=[], help="only this event type (repeatable)")
    t.add_argument("--after", type=int, default=0, help="only events after this sequence number")
    t.add_argument("--limit", type=int, default=0, help="at most this many (0: all)")
    t.set_defaults(handler=_tail)

    s = a.add_parser("stats", help="override statistics through the gateway (auditor token)")
    s.add_argument(
        "--group-by",
        default="policy_version,queue",
        help="comma-separated: policy_name, policy_version, queue, rule, reviewer",
    )
    s.add_argument("--decision-type", default="")
    s.add_argument(
        "--shadow",
        metavar="DB_URL",
        default=None,
        help="instead: compare shadow models with the primary and with human outcomes, read from this database",
    )
    s.set_defaults(handler=_stats)
    for q in (t, s):
        q.add_argument("--json", action="store_true", help="print JSON lines")
        add_connection_flags(q)

    # `signoff audit query` lives in its own module.
    importlib.import_module("gateway.cli.audit_query").register(a)

    # `signoff audit prove` and `check-proof` live in their own module.
    importlib.import_module("gateway.cli.audit_proof").register(a)

    # `signoff audit explain` lives in its own module.
    importlib.import_module("gateway.cli.audit_explain").register(a)

    # `signoff audit reviewers` lives in its own module.
    importlib.import_module("gateway.cli.audit_reviewers").register(a)

    tok = sub.add_parser("token", help="make principals-file entries")
    ts = tok.add_subparsers(dest="token_command", metavar="ACTION", parser_class=type(p))
    ts.required = True
    h = ts.add_parser("hash", help="print the sha256 of a bearer token for the principals file")
    h.add_argument("token")
    h.set_defaults(handler=_hash)


def _verify(args: argparse.Namespace) -> int:
    from gateway.adapters.db import make_engine
    from gateway.cli.audit_anchor import anchor_lines, check_witness_flags, walk

    if args.witness:
        check_witness_flags(args.witness, args.witness_timeout)
    engine = make_engine(args.db)
    try:
        report, notes = walk(engine, args)
        anchored_ok, lines = anchor_lines(engine, args) if args.checkpoints else (True, [])
        if args.witness:
            from gateway.cli.audit_anchor import asked_witness

            witness_ok, more = asked_witness(engine, args.witness, args.witness_timeout)
            anchored_ok, lines = anchored_ok and witness_ok, [*lines, *more]
        if args.state:
            from gateway.cli.audit_anchor import state_lines

            state_ok, more = state_lines(engine)
            anchored_ok, lines = anchored_ok and state_ok, [*lines, *more]
    finally:
        engine.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "count": report.count,
                    "head_seq": report.head_seq,
                    "head_hash": report.head_hash,
                    "first_bad_seq": report.first_bad_seq,
                    "problem": report.problem,
                },
                sort_keys=True,
            )
        )
    elif report.ok:
        print(f"chain ok: {report.count} events, head seq {report.head_seq}")
        print(f"head hash {report.head_hash}")
    else:
        print(f"CHAIN BROKEN at seq {report.first_bad_seq}: row {report.problem} ({report.count} events read)")
    for line in [*notes, *lines]:
        print(line)
    return 0 if report.ok and anchored_ok else 1


def _tail(args: argparse.Namespace) -> int:
    req = audit_pb2.QueryEventsRequest(
        decision_id=args.decision,
        decision_type=args.decision_type,
        types=args.type,
        after_seq=args.after,
        limit=args.limit,
    )
    with channel(args) as ch:
        stub = audit_pb2_grpc.AuditServiceStub(ch)

        def stream() -> None:
            for resp in stub.QueryEvents(req, metadata=metadata(args), timeout=args.timeout):
                e = resp.event
                if args.json:
                    print(to_json(e))
                else:
                    when = e.time.ToDatetime().isoformat(timespec="milliseconds")
                    print(f"{e.seq:>8} {when} {e.type:<19} {e.actor:<16} {e.decision_id or '-':<36} {e.body_json}")

        call(stream)
    return 0


def _shadow_stats(args: argparse.Namespace) -> int:
    from gateway.cli.report import open_db
    from gateway.reports.shadow import load_shadow_rows, shadow_stats

    with open_db(args.shadow) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        stats = shadow_stats(load_shadow_rows(conn, args.decision_type))
    if args.json:
        for s in stats:
            print(json.dumps(s, sort_keys=True))
        return 0
    head = ["shadow", "primary", "cases", "answered", "agree_primary%", "labelled", "shadow_right%", "primary_right%"]
    rows = [
        [
            s["shadow"],
            s["primary"],
            str(s["cases"]),
            str(s["answered"]),
            f"{100 * s['agree_primary'] / s['answered']:.1f}" if s["answered"] else "-",
            str(s["labelled"]),
            f"{100 * s['shadow_right'] / s['labelled']:.1f}" if s["labelled"] else "-",
            f"{100 * s['primary_right'] / s['labelled']:.1f}" if s["labelled"] else "-",
        ]
        for s in stats
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _stats(args: argparse.Namespace) -> int:
    if args.shadow:
        return _shadow_stats(args)
    group_by = [g.strip() for g in args.group_by.split(",") if g.strip()]
    req = audit_pb2.OverrideStatsRequest(group_by=group_by, decision_type=args.decision_type)
    with channel(args) as ch:
        stub = audit_pb2_grpc.AuditServiceStub(ch)
        resp = call(lambda: stub.OverrideStats(req, metadata=metadata(args), timeout=args.timeout))
    if args.json:
        for g in resp.groups:
            print(to_json(g))
        return 0
    print_stats(resp, group_by, sys.stdout)
    return 0


def print_stats(resp: audit_pb2.OverrideStatsResponse, group_by: list[str], out) -> None:  # type: ignore[no-untyped-def]
    """The override table: one row per group."""
    head = [*group_by, "reviewed", "approved", "edited", "overridden", "rejected", "override%", "median_s"]
    rows = [
        [
            *(g.key.get(k, "") for k in group_by),
            str(g.reviewed),
            str(g.approved),
            str(g.edited),
            str(g.overridden),
            str(g.rejected),
            f"{100 * g.override_rate:.1f}",
            f"{g.median_time_to_decision_seconds:.1f}",
        ]
        for g in resp.groups
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _hash(args: argparse.Namespace) -> int:
    from gateway.rpc.auth import token_hash

    print(token_hash(args.token))
    return 0
