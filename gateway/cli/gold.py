"""``signoff gold``: check a file of known-answer (gold) cases against the policies before loading it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from gateway.cli import CommandError
from gateway.errors import PolicyError
from gateway.policy import load_policy_dir
from gateway.policy.gold import check_gold
from gateway.policy.loader import load_document

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``gold`` and its subcommands."""
    p = sub.add_parser("gold", help="gold (known-answer) cases for measuring reviewers")
    gs = p.add_subparsers(dest="gold_command", metavar="ACTION", parser_class=type(p))
    gs.required = True
    c = gs.add_parser("check", help="check a gold file: decision type, outcomes, input; exit 1 on any issue")
    c.add_argument("file", metavar="FILE")
    c.add_argument(
        "--policies",
        default=os.environ.get("SIGNOFF_POLICIES", "policies"),
        help="the policy directory the cases are checked against (default policies/)",
    )
    c.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    if not Path(args.policies).is_dir():
        raise CommandError(f"{args.policies}: not a policy directory", 2)
    try:
        policies = {p.decision: p for p in load_policy_dir(args.policies)}
        doc, locate = load_document(args.file)
    except PolicyError as exc:
        for issue in exc.issues:
            print(issue)
        return 1
    cases, issues = check_gold(doc, args.file, locate, policies)
    for issue in issues:
        print(issue)
    if issues:
        print(f"{len(issues)} issue{'s' if len(issues) != 1 else ''}: no case is usable until they are fixed")
        return 1
    traps = sum(c.trap for c in cases)
    print(
        f"{len(cases)} gold case{'s' if len(cases) != 1 else ''} for {cases[0].decision_type}, "
        f"{traps} with a deliberately wrong proposal"
    )
    return 0
