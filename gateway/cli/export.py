"""``signoff export feedback``: human labels for retraining, with inclusion probabilities and weights."""

from __future__ import annotations

import argparse
import io
import json
import sys

from gateway.cli import CommandError
from gateway.cli.report import add_db_flag, open_db, parse_period, write_output

__all__ = ["register"]

FORMATS = ("jsonl", "parquet")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` to the command tree."""
    p = sub.add_parser("export", help="export data drawn from the decision log")
    e = p.add_subparsers(dest="export_command", metavar="WHAT", parser_class=type(p))
    e.required = True
    f = e.add_parser(
        "feedback",
        help="human-reviewed and audit-sampled decisions as training rows",
        description="One row per decision created in [--since, --until) that a person labelled: "
        "held decisions signed off (pi = 1) and audit samples reviewed "
        "(pi = the recorded sampling probability); weight = 1/pi.",
    )
    f.add_argument("--since", required=True, metavar="ISO", help="decisions created from (inclusive)")
    f.add_argument("--until", required=True, metavar="ISO", help="decisions created before (exclusive)")
    f.add_argument("--format", default="jsonl", help="jsonl (default) or parquet (needs signoff[parquet])")
    f.add_argument("--out", metavar="FILE", help="write here instead of stdout (required for parquet)")
    add_db_flag(f)
    f.set_defaults(handler=_feedback)
    r = e.add_parser(
        "replay-sample",
        help="stored decisions of one type as a replay sample (JSONL) for `policy replay --from`",
        description="Every decision of --type created in [--since, --until), with its input, proposal, "
        "route, outcome and audit state: what `signoff policy replay --from FILE` needs, for a CI job "
        "that cannot reach the database. The file holds the inputs: handle it like the database.",
    )
    r.add_argument("--type", required=True, dest="decision_type", help="decision type, e.g. claims.payout")
    r.add_argument("--since", required=True, metavar="ISO", help="decisions created from (inclusive)")
    r.add_argument("--until", required=True, metavar="ISO", help="decisions created before (exclusive)")
    r.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    add_db_flag(r)
    r.set_defaults(handler=_replay_sample)


def _replay_sample(args: argparse.Namespace) -> int:
    from gateway.reports.replay import stored_rows
    from gateway.reports.replay_sample import sample_lines

    since, until = parse_period("--since", args.since, "--until", args.until)
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        lines = list(
            sample_lines(stored_rows(conn, args.decision_type, since, until), args.decision_type, since, until)
        )
    if len(lines) == 1:
        raise CommandError(f"no {args.decision_type} decisions in {args.since} .. {args.until}", code=1)
    write_output(args.out, lambda fh: fh.write("\n".join(lines) + "\n"))
    if args.out:
        print(f"wrote {len(lines) - 1} decisions to {args.out}", file=sys.stderr)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from gateway.reports import feedback_rows, write_parquet

    if args.format not in FORMATS:
        raise CommandError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}", code=2)
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise CommandError("parquet needs pyarrow: pip install 'signoff[parquet]'", code=2) from None
        if not args.out:
            raise CommandError("--format parquet needs --out FILE (Parquet is not written to a terminal)", code=2)
    since, until = parse_period("--since", args.since, "--until", args.until)
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        rows = feedback_rows(conn, since, until)
        if args.format == "parquet":
            count = write_parquet(list(rows), args.out)
        else:

            def write(fh: io.TextIOBase) -> int:
                n = 0
                for row in rows:
                    fh.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
                    n += 1
                return n

            count = write_output(args.out, write)
    if args.out:
        print(f"wrote {count} rows to {args.out}", file=sys.stderr)
    return 0
