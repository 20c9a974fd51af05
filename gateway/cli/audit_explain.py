"""``signoff audit explain DECISION_ID``: one decision's whole story in plain words, from the database."""

from __future__ import annotations

import argparse
import json

from gateway.cli.report import add_db_flag, open_db

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` under ``signoff audit``."""
    p = sub.add_parser(
        "explain",
        help="one decision's trail in plain words, its events checked",
        description="Reads the decision's events and policy text, recomputes those events' "
        "hashes and links (not the whole chain), and tells the story.",
    )
    p.add_argument("decision_id")
    p.add_argument("--json", action="store_true", help="print the trail as JSON")
    add_db_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.errors import NotFound
    from gateway.reports import load_trail, render_trail

    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        trail = load_trail(conn, args.decision_id)
    if trail is None:
        raise NotFound(f"no decision {args.decision_id!r}")
    if args.json:
        print(json.dumps(trail, indent=2, ensure_ascii=False))
    else:
        print(render_trail(trail), end="")
    return 0 if trail["chain"]["verified"] else 1
