"""``signoff monitor``: drift of confidence, queue shares, override rates and audited error, per model version.

Read-only: it compares a current window with a reference window, both read from the database,
prints text or JSON, and can write the figures as Prometheus gauges (textfile-collector format).
Exit status 3 when an alarm is on, so a cron job or CI step can page on it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gateway.cli import CommandError
from gateway.cli.calibrate import parse_unit
from gateway.cli.report import add_db_flag, open_db, parse_when, write_output

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``monitor`` to the command tree."""
    p = sub.add_parser(
        "monitor",
        help="drift, override and audited-error monitors (text, JSON, Prometheus)",
        description="Compare [--since, --until) with the reference window before it "
        "(or --reference-since/--reference-until).",
    )
    p.add_argument("--decision-type", required=True, metavar="TYPE")
    p.add_argument("--since", required=True, metavar="ISO", help="current window start")
    p.add_argument("--until", required=True, metavar="ISO", help="current window end (exclusive)")
    p.add_argument("--reference-since", metavar="ISO", help="reference window start (default: same length before)")
    p.add_argument("--reference-until", metavar="ISO", help="reference window end (default: --since)")
    p.add_argument(
        "--certificate", metavar="FILE", help="a certificate (JSON) whose alpha the audited error is held to"
    )
    p.add_argument("--alpha", help="the error rate to hold the audited error to (instead of --certificate)")
    p.add_argument("--delta", default="0.05", help="the alarm's chance of a false alarm over all time (default 0.05)")
    p.add_argument("--format", default="text", help="text (default) or json")
    p.add_argument("--prometheus", metavar="FILE", help="also write the figures as Prometheus gauges to FILE")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--record-alarms",
        action="store_true",
        help="write monitor_alarm_raised / monitor_alarm_cleared to the audit log when the state changes",
    )
    p.add_argument("--actor", default="signoff-monitor", help="the actor named in recorded alarm events")
    add_db_flag(p)
    p.set_defaults(handler=_run)


def _alpha(args: argparse.Namespace) -> float | None:
    if args.alpha:
        return parse_unit("--alpha", args.alpha)
    if args.certificate:
        try:
            cert = json.loads(Path(args.certificate).read_text(encoding="utf-8"))
            return float(cert["alpha"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"--certificate: {args.certificate}: not a certificate ({exc.__class__.__name__})", code=1
            ) from None
    return None


def _record(engine: Any, mon: dict[str, Any], actor: str) -> None:
    """Append raised/cleared events for alarms whose state changed, through the store (after commit)."""
    import sys
    from datetime import UTC, datetime

    from gateway.adapters.sql_store import apply_once
    from gateway.reports.monitoring import recorded_alarms
    from gateway.review.alarms import plan_alarm_events

    with engine.connect() as conn:
        recorded = recorded_alarms(conn, mon["decision_type"])
    change = plan_alarm_events(mon["decision_type"], mon["models"], recorded, datetime.now(UTC), actor)
    if not change:
        return

    applied = apply_once(engine, change)
    for event, receipt in zip(change.events, applied.receipts, strict=True):
        print(f"recorded {event.type} for {event.body['model']} at seq {receipt.seq}", file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from gateway.reports.monitoring import build_monitor, prometheus_text, render_monitor

    if args.format not in ("text", "json"):
        raise CommandError(f"--format: {args.format!r} is not one of text, json", code=1)
    since, until = parse_when("--since", args.since), parse_when("--until", args.until)
    if since >= until:
        raise CommandError(f"--since {args.since} is not before --until {args.until}", code=1)
    ref_until = parse_when("--reference-until", args.reference_until) if args.reference_until else since
    ref_since = (
        parse_when("--reference-since", args.reference_since) if args.reference_since else ref_until - (until - since)
    )
    if ref_since >= ref_until:
        raise CommandError("--reference-since is not before --reference-until", code=1)
    alpha = _alpha(args)
    delta = parse_unit("--delta", args.delta)
    if args.record_alarms and alpha is None:
        raise CommandError("--record-alarms needs --alpha or --certificate (the level the alarm holds to)", code=1)
    with open_db(args.db) as engine:
        with engine.connect() as conn:  # type: ignore[attr-defined]
            mon = build_monitor(conn, args.decision_type, (ref_since, ref_until), (since, until), alpha, delta)
        if not mon["models"]:
            raise CommandError(f"no decisions of {args.decision_type} in {args.since} .. {args.until}", code=1)
        if args.record_alarms:
            _record(engine, mon, args.actor)
    text = json.dumps(mon, indent=2, sort_keys=True) + "\n" if args.format == "json" else render_monitor(mon)
    write_output(args.out, lambda fh: fh.write(text))
    if args.prometheus:
        write_output(args.prometheus, lambda fh: fh.write(prometheus_text(mon)))
    return 3 if any(m["audited_error"]["alarm"] for m in mon["models"].values()) else 0
