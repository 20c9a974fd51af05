"""``signoff policy replay``: a proposed policy's impact on stored decisions, in text, JSON or Markdown."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli import CommandError
from gateway.cli.calibrate import parse_unit
from gateway.cli.report import add_db_flag, open_db, parse_period, write_output

__all__ = ["add_replay"]

FORMATS = ("text", "json", "markdown")


def add_replay(commands: Any) -> None:
    """Add ``policy replay`` under the ``policy`` group."""
    p = commands.add_parser("replay", help="re-evaluate stored decisions under a proposed policy (no writes)")
    p.add_argument("file", metavar="PROPOSED.yaml")
    p.add_argument("--since", required=True, metavar="ISO", help="decisions created from (inclusive)")
    p.add_argument("--until", required=True, metavar="ISO", help="decisions created before (exclusive)")
    p.add_argument("--delta", default="0.1", help="the error bound's chance of being wrong (default 0.1)")
    p.add_argument("--format", default="text", help="text (default), json or markdown")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    add_db_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gateway.adapters.tables import decisions
    from gateway.policy import load_policy
    from gateway.reports.replay import render_markdown, render_text, replay

    if args.format not in FORMATS:
        raise CommandError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}", code=1)
    delta = parse_unit("--delta", args.delta)
    since, until = parse_period("--since", args.since, "--until", args.until)
    policy = load_policy(args.file)  # a policy that does not lint: PolicyError, exit 1
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        types = {t for (t,) in conn.execute(select(decisions.c.decision_type).distinct())}
        if policy.decision not in types:
            raise CommandError(
                f"{args.file}: decides {policy.decision}, which has no stored decisions "
                f"(stored: {', '.join(sorted(types)) or 'none'})",
                code=1,
            )
        rep = replay(conn, policy, since, until, delta=delta)
    if rep["decisions"] == 0:
        raise CommandError(f"no {policy.decision} decisions in {args.since} .. {args.until}", code=1)
    render = {
        "json": lambda r: json.dumps(r, indent=2, sort_keys=True) + "\n",
        "markdown": render_markdown,
        "text": render_text,
    }[args.format]
    write_output(args.out, lambda fh: fh.write(render(rep)))
    return 0
