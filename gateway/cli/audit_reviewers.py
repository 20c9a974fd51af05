"""``signoff audit reviewers``: the evidence of reviewer engagement, with rubber-stamp flags (auditor token)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gateway.cli.client import add_connection_flags, call, channel, metadata, to_json
from signoff.v1 import audit_pb2, audit_pb2_grpc

__all__ = ["print_reviewers", "register"]


def register(audit: Any) -> None:
    """Add ``reviewers`` under ``signoff audit``."""
    r = audit.add_parser("reviewers", help="per-reviewer evidence of engagement and rubber-stamp flags (auditor token)")
    r.add_argument("--by-queue", action="store_true", help="one row per reviewer and queue")
    r.add_argument("--decision-type", default="")
    r.add_argument("--json", action="store_true", help="print JSON lines")
    add_connection_flags(r)
    r.set_defaults(handler=_reviewers)


def _reviewers(args: argparse.Namespace) -> int:
    req = audit_pb2.ReviewerStatsRequest(by_queue=args.by_queue, decision_type=args.decision_type)
    with channel(args) as ch:
        stub = audit_pb2_grpc.AuditServiceStub(ch)
        resp = call(lambda: stub.ReviewerStats(req, metadata=metadata(args), timeout=args.timeout))
    if args.json:
        for row in resp.rows:
            print(to_json(row))
        return 0
    print_reviewers(resp, sys.stdout)
    return 0


def _pct(has: bool, value: float) -> str:
    return f"{100 * value:.1f}" if has else "-"


def print_reviewers(resp: audit_pb2.ReviewerStatsResponse, out: Any) -> None:
    """The reviewer table: one row per reviewer (and queue), flags last."""
    head = [
        "queue",
        "reviewer",
        "reviews",
        "median_s",
        "approve%",
        "agree%",
        "blind_agree%",
        "gold%",
        "traps_accepted",
        "override_ratio [95%]",
        "kappa",
        "flags",
    ]
    rows = []
    for r in resp.rows:
        o = r.override_ratio
        ratio = f"{o.ratio:.2f} [{o.lower:.2f}, {o.upper:.2f}]" if o.has_ratio else "-"
        rows.append(
            [
                r.queue,
                r.reviewer,
                str(r.reviews),
                f"{r.median_claim_to_submit_seconds:.1f}" if r.has_median_seconds else "-",
                _pct(r.has_approval_rate, r.approval_rate),
                _pct(r.has_agreement_ordinary, r.agreement_ordinary),
                _pct(r.has_agreement_blind, r.agreement_blind),
                _pct(r.has_gold_accuracy, r.gold_accuracy),
                f"{r.gold_traps_accepted}/{r.gold_traps}",
                ratio,
                f"{r.kappa:.2f}" if r.has_kappa else "-",
                ",".join(r.flags) or "-",
            ]
        )
    widths = [max(len(x[i]) for x in [head, *rows]) for i in range(len(head))]
    for x in [head, *rows]:
        out.write("  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip() + "\n")
