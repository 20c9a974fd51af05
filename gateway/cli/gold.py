"""``signoff gold``: known-answer (gold) cases that measure reviewers.

``check FILE`` checks a gold file against the policies; ``add FILE`` checks it the same way and
loads its cases into the database, with a ``gold_cases_added`` event naming each case and the
file's digest (a case already loaded is skipped, so loading a file twice is harmless); ``list``
shows the loaded cases, how often each was served and how often reviewers gave the known answer;
``retire CASE_ID --reason`` stops injecting a case whose answer no longer holds (it stays, with
who retired it and why, and its past sign-offs keep their score), logged ``gold_case_retired``.
The gateway injects them (``review/gold.py``).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli import CommandError
from gateway.cli.report import add_db_flag, apply_logged, open_db
from gateway.errors import PolicyError
from gateway.policy import load_policy_dir
from gateway.policy.gold import GoldCase, check_gold
from gateway.policy.loader import load_document

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add ``gold`` and its subcommands."""
    p = sub.add_parser("gold", help="gold (known-answer) cases for measuring reviewers")
    gs = p.add_subparsers(dest="gold_command", metavar="ACTION", parser_class=type(p))
    gs.required = True
    c = gs.add_parser("check", help="check a gold file: decision type, outcomes, input; exit 1 on any issue")
    a = gs.add_parser("add", help="check a gold file and load its cases for injection into review queues")
    for q in (c, a):
        q.add_argument("file", metavar="FILE")
        q.add_argument(
            "--policies",
            default=os.environ.get("SIGNOFF_POLICIES", "policies"),
            help="the policy directory the cases are checked against (default policies/)",
        )
    add_db_flag(a)
    a.add_argument("--actor", default=getpass.getuser(), help="who loads them, as the log records it")
    ls = gs.add_parser("list", help="the loaded gold cases: queue, times served, and reviewers' accuracy")
    add_db_flag(ls)
    r = gs.add_parser("retire", help="stop injecting a gold case (its past sign-offs keep their score)")
    r.add_argument("case_id", metavar="CASE_ID", help="the id `gold list` shows (at least 8 of its characters)")
    r.add_argument("--reason", required=True, help="why (for example: the exclusion was dropped from the contract)")
    r.add_argument("--actor", default=getpass.getuser(), help="who retires it, as the log records it")
    add_db_flag(r)
    r.set_defaults(handler=_retire)
    c.set_defaults(handler=_check)
    a.set_defaults(handler=_add)
    ls.set_defaults(handler=_list)


def _checked(args: argparse.Namespace) -> list[GoldCase] | None:
    """The file's cases, or None after printing every issue (no case is usable until all are fixed)."""
    if not Path(args.policies).is_dir():
        raise CommandError(f"{args.policies}: not a policy directory", 2)
    try:
        policies = {p.decision: p for p in load_policy_dir(args.policies)}
        doc, locate = load_document(args.file)
    except PolicyError as exc:
        for issue in exc.issues:
            print(issue)
        return None
    cases, issues = check_gold(doc, args.file, locate, policies)
    for issue in issues:
        print(issue)
    if issues:
        print(f"{len(issues)} issue{'s' if len(issues) != 1 else ''}: no case is usable until they are fixed")
        return None
    return cases


def _summary(cases: list[GoldCase]) -> str:
    traps = sum(c.trap for c in cases)
    return (
        f"{len(cases)} gold case{'s' if len(cases) != 1 else ''} for {cases[0].decision_type}, "
        f"{traps} with a deliberately wrong proposal"
    )


def _check(args: argparse.Namespace) -> int:
    cases = _checked(args)
    if cases is None:
        return 1
    print(_summary(cases))
    return 0


def case_id(c: GoldCase) -> str:
    """A gold case's id: a digest of what it is, so the same case loaded twice is one case."""
    from audit.record import canonical_json

    what = [c.decision_type, dict(c.input), c.outcome, c.confidence, c.expected, c.subject_ref]
    return hashlib.sha256(canonical_json(what).encode()).hexdigest()[:32]


def _add(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gateway.adapters.tables import gold_cases
    from gateway.review.gold import StoredGold

    cases = _checked(args)
    if cases is None:
        return 1
    now = datetime.now(UTC)
    file = Path(args.file)
    stored = [
        StoredGold(
            case_id=case_id(c),
            decision_type=c.decision_type,
            name=c.name,
            input=c.input,
            outcome=c.outcome,
            confidence=c.confidence,
            expected=c.expected,
            explanation=c.explanation,
            scores=dict(c.scores or {}),
            subject_ref=c.subject_ref,
            source=f"{file.name}:{c.line or 0}",
            loaded_by=args.actor,
            loaded_at=now,
        )
        for c in cases
    ]
    with open_db(args.db) as engine:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            have = set(conn.execute(select(gold_cases.c.case_id)).scalars())
        new = [g for g in {g.case_id: g for g in stored}.values() if g.case_id not in have]
        if not new:
            print(f"{_summary(cases)}; every one is loaded already, nothing written")
            return 0
        queues = {case_id(c): c.queue for c in cases}
        body = {
            "decision_type": cases[0].decision_type,
            "file": file.name,
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
            "cases": [
                {
                    "case_id": g.case_id,
                    "name": g.name,
                    "expected": g.expected,
                    "trap": g.trap,
                    "queue": queues[g.case_id],
                }
                for g in new
            ],
        }
        seq = apply_logged(
            engine, "gold_cases_added", args.actor, body, decision_type=cases[0].decision_type, inserts=tuple(new)
        )
    print(
        f"{_summary(cases)}: {len(new)} loaded, {len(stored) - len(new)} already there; logged gold_cases_added at seq {seq}"
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import and_, func, select

    from gateway.adapters.tables import decisions, gold_cases

    g, d = gold_cases.c, decisions.c
    decided = d.status == "HUMAN_DECIDED"
    stmt = (
        select(
            g.case_id,
            g.decision_type,
            g.name,
            g.proposal_outcome,
            g.expected,
            func.count(d.decision_id),
            func.count(d.decision_id).filter(decided),
            func.count(d.decision_id).filter(and_(decided, d.final_outcome == g.expected)),
            g.retired_at,
        )
        .select_from(gold_cases.outerjoin(decisions, d.gold_case_id == g.case_id))
        .group_by(g.case_id, g.decision_type, g.name, g.proposal_outcome, g.expected, g.retired_at)
        .order_by(g.decision_type, g.name)
    )
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(stmt).all()
    if not rows:
        print("no gold cases loaded; load some with: signoff gold add FILE")
        return 0
    print(
        f"{'case':<12} {'decision type':<16} {'proposed':<10} {'expected':<10} {'served':>6} {'decided':>7} {'right':>5}  name"
    )
    for cid, dtype, name, proposed, expected, served, done, right, retired in rows:
        trap = "*" if proposed != expected else " "
        gone = " (retired)" if retired is not None else ""
        print(
            f"{cid[:12]:<12} {dtype:<16} {proposed + trap:<10} {expected:<10} {served:>6} {done:>7} {right:>5}  "
            f"{name}{gone}"
        )
    print("* a deliberately wrong proposal: a reviewer who lets it stand did not look")
    return 0


def _retire(args: argparse.Namespace) -> int:
    import dataclasses
    import re

    from sqlalchemy import select

    from gateway.adapters.rows import gold_from_row
    from gateway.adapters.tables import gold_cases
    from gateway.review.change import Update

    prefix, reason = args.case_id.strip().lower(), args.reason.strip()
    if not re.fullmatch(r"[0-9a-f]{8,32}", prefix):
        raise CommandError("CASE_ID: give at least 8 hex characters of the id `signoff gold list` shows", 2)
    if not reason:
        raise CommandError("--reason must not be empty", 2)
    with open_db(args.db) as engine:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            rows = conn.execute(select(gold_cases).where(gold_cases.c.case_id.startswith(prefix))).all()
        if not rows:
            raise CommandError(f"no gold case {prefix!r}; see signoff gold list", 1)
        if len(rows) > 1:
            raise CommandError(f"{prefix!r} names {len(rows)} gold cases; give more of the id", 1)
        case = gold_from_row(rows[0])
        if case.retired_at is not None:
            raise CommandError(
                f"gold case {case.case_id[:12]} was retired already ({case.retired_by}: {case.retire_reason})", 1
            )
        now = datetime.now(UTC)
        retired = dataclasses.replace(case, retired_at=now, retired_by=args.actor, retire_reason=reason)
        body = {"case_id": case.case_id, "name": case.name, "expected": case.expected, "reason": reason}
        guard = Update(retired, {"retired_at": None}, f"gold case {case.case_id[:12]} was retired meanwhile")
        seq = apply_logged(
            engine, "gold_case_retired", args.actor, body, decision_type=case.decision_type, updates=(guard,)
        )
    print(
        f"gold case {case.case_id[:12]} ({case.name}) retired: no longer injected; its past sign-offs keep "
        f"their score; logged gold_case_retired at seq {seq}"
    )
    return 0
