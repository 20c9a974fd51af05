"""``signoff subject``: a data subject's rights over the decision log (GDPR Art. 15 and 17).

``erase`` destroys the subject's keys (crypto-shredding: the sealed personal fields can never be
opened again, the chain, which covers only their ciphertext, still verifies, and every statistic
still counts the decisions) and records a ``subject_erased`` event; ``hold`` and ``release`` put
and lift a legal hold (Art. 17(3)) under which erasure is refused; ``export`` answers an access
request with every decision about the subject, the rule and reasons that decided it and the
human who signed it off (Art. 15(1)(h), Art. 22).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

from gateway.cli import CommandError
from gateway.cli.report import add_db_flag, apply_logged, open_db, write_output
from gateway.errors import SignoffError

__all__ = ["register"]

ERASED = "subject_erased"
HELD = "subject_held"
RELEASED = "subject_hold_released"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``subject`` and its actions."""
    p = sub.add_parser("subject", help="a data subject's erasure, legal holds and access requests")
    ss = p.add_subparsers(dest="subject_command", metavar="ACTION", parser_class=type(p))
    ss.required = True

    e = ss.add_parser("erase", help="destroy the subject's keys (crypto-shredding) and log the erasure")
    e.add_argument("subject_ref", metavar="SUBJECT_REF")
    e.add_argument("--reason", required=True, help="why (for example: Art. 17 request of 2026-12-01, ticket 4411)")
    h = ss.add_parser("hold", help="put the subject under a legal hold: erasure is refused until released")
    h.add_argument("subject_ref", metavar="SUBJECT_REF")
    h.add_argument("--reason", required=True, help="the hold's ground (for example: litigation 2026-117)")
    r = ss.add_parser("release", help="lift the subject's legal hold")
    r.add_argument("subject_ref", metavar="SUBJECT_REF")
    r.add_argument("--reason", required=True, help="why the hold ends")
    x = ss.add_parser("export", help="every decision about the subject, with its logic and reviewer (Art. 15)")
    x.add_argument("subject_ref", metavar="SUBJECT_REF")
    x.add_argument("--format", default="text", help="text (default) or json")
    x.add_argument("--out", default=None, metavar="FILE", help="write here (whole, or not at all) instead of stdout")
    for q, handler in ((e, _erase), (h, _hold), (r, _release), (x, _export)):
        add_db_flag(q)
        if q is not x:
            q.add_argument("--actor", default=getpass.getuser(), help="who acts, as the log records it")
        q.set_defaults(handler=handler)


def _ref(args: argparse.Namespace) -> str:
    ref = args.subject_ref.strip()
    if not ref:
        raise CommandError("SUBJECT_REF must not be empty", code=2)
    if hasattr(args, "reason") and not args.reason.strip():
        raise CommandError("--reason must not be empty", code=2)
    return str(ref)


def _log(engine: Any, type_: str, actor: str, body: dict[str, Any]) -> int:
    """Append one event about the subject through the store; its seq."""
    return apply_logged(engine, type_, actor, body)


def _keys(engine: Any) -> Any:
    from gateway.adapters.personal import SqlPersonalData

    return SqlPersonalData(engine, lambda: datetime.now(UTC))


def _erase(args: argparse.Namespace) -> int:
    ref = _ref(args)
    with open_db(args.db) as engine:
        keys = _keys(engine)
        erased = keys.erase(ref, args.reason.strip())  # NotFound / PreconditionFailed: one line, exit 1
        if not erased:
            print(f"subject {ref!r}: every key was erased already; nothing more to destroy")
            return 0
        try:
            seq = _log(engine, ERASED, args.actor, {"subject_ref": ref, "reason": args.reason.strip(), "keys": erased})
        except SignoffError as exc:  # the keys are gone whatever follows: say so, exactly
            raise CommandError(
                f"subject {ref!r}: {erased} key(s) destroyed, but the erasure event was not logged "
                f"({type(exc).__name__}); log it again with: signoff subject erase {ref} --reason ...",
                code=1,
            ) from None
    print(
        f"subject {ref!r}: {erased} key{'s' if erased != 1 else ''} destroyed; its personal fields now read "
        f"as erased; logged {ERASED} at seq {seq}"
    )
    return 0


def _hold(args: argparse.Namespace) -> int:
    ref = _ref(args)
    with open_db(args.db) as engine:
        _keys(engine).hold(ref, args.reason.strip(), args.actor)
        seq = _log(engine, HELD, args.actor, {"subject_ref": ref, "reason": args.reason.strip()})
    print(f"subject {ref!r}: under a legal hold; erasure is refused until it is released; logged {HELD} at seq {seq}")
    return 0


def _release(args: argparse.Namespace) -> int:
    ref = _ref(args)
    with open_db(args.db) as engine:
        _keys(engine).release(ref)
        seq = _log(engine, RELEASED, args.actor, {"subject_ref": ref, "reason": args.reason.strip()})
    print(f"subject {ref!r}: legal hold released; logged {RELEASED} at seq {seq}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from gateway.reports.subject import render_subject, subject_report

    if args.format not in ("text", "json"):
        raise CommandError(f"--format: {args.format!r} is not one of text, json", code=2)
    ref = _ref(args)
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        report = subject_report(conn, ref)
    if not report["decisions"] and not report["erasures"] and report["hold"] is None:
        raise CommandError(f"no decision about subject {ref!r} is on record", code=1)
    text = json.dumps(report, indent=2, sort_keys=True) + "\n" if args.format == "json" else render_subject(report)
    write_output(args.out, lambda fh: fh.write(text))
    if args.out:
        print(f"wrote {len(report['decisions'])} decisions about {ref!r} to {args.out}", file=sys.stderr)
    return 0
