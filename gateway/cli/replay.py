"""``signoff policy replay``: a proposed policy's impact on stored decisions, in text, JSON or Markdown."""

from __future__ import annotations

import argparse
import json
from typing import Any

from audit.record import iso_utc
from gateway.cli import CommandError
from gateway.cli.calibrate import parse_unit
from gateway.cli.report import add_db_flag, open_db, parse_period, parse_when, write_output

__all__ = ["add_replay"]

FORMATS = ("text", "json", "markdown")


def add_replay(commands: Any) -> None:
    """Add ``policy replay`` under the ``policy`` group."""
    p = commands.add_parser("replay", help="re-evaluate stored decisions under a proposed policy (no writes)")
    p.add_argument("file", metavar="PROPOSED.yaml")
    p.add_argument(
        "--since", metavar="ISO", help="decisions created from (inclusive; default with --from: the sample's)"
    )
    p.add_argument(
        "--until", metavar="ISO", help="decisions created before (exclusive; default with --from: the sample's)"
    )
    p.add_argument(
        "--from",
        dest="sample",
        metavar="SAMPLE.jsonl",
        help="replay an exported sample (`signoff export replay-sample`) instead of the database",
    )
    p.add_argument("--delta", default="0.1", help="the error bound's chance of being wrong (default 0.1)")
    p.add_argument("--format", default="text", help="text (default), json or markdown")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    add_db_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
    from gateway.policy import load_policy
    from gateway.reports.replay import render_markdown, render_text, replay

    if args.format not in FORMATS:
        raise CommandError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}", code=1)
    delta = parse_unit("--delta", args.delta)
    policy = load_policy(args.file)  # a policy that does not lint: PolicyError, exit 1
    if args.sample:
        rep = _replay_sample(args, policy, delta)
    else:
        if not (args.since and args.until):
            raise CommandError("--since and --until are required (or replay a sample with --from FILE)", code=2)
        since, until = parse_period("--since", args.since, "--until", args.until)
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
        window = f"{rep['window']['since']} .. {rep['window']['until']}"
        raise CommandError(f"no {policy.decision} decisions in {window}", code=1)
    render = {
        "json": lambda r: json.dumps(r, indent=2, sort_keys=True) + "\n",
        "markdown": render_markdown,
        "text": render_text,
    }[args.format]
    write_output(args.out, lambda fh: fh.write(render(rep)))
    return 0


def _replay_sample(args: argparse.Namespace, policy: Any, delta: float) -> dict[str, Any]:
    """Replay the sample file ``--from`` (its window, or the part of it --since/--until name)."""
    from gateway.reports.replay import replay_rows
    from gateway.reports.replay_sample import iso_created, read_sample

    header, rows = read_sample(args.sample)  # a malformed line: InvalidRequest naming it, exit 1
    if header.decision_type != policy.decision:
        raise CommandError(
            f"{args.file}: decides {policy.decision}, but {args.sample} holds {header.decision_type}", code=1
        )
    since = parse_when("--since", args.since) if args.since else header.since
    until = parse_when("--until", args.until) if args.until else header.until
    if since >= until:
        raise CommandError(f"--since {iso_utc(since)} is not before --until {iso_utc(until)}", code=2)
    lo, hi = iso_utc(since), iso_utc(until)
    kept = [r for r in rows if lo <= iso_created(r[11]) < hi]
    return replay_rows(kept, policy, since, until, delta=delta)
