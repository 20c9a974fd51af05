"""``signoff calibrate``: certify an auto threshold on the gateway's own labelled history.

Reads the database (every decision of the type in the window) or a feedback export, runs
Learn-then-Test over a grid fixed by the flags before any label is read, and prints the
certificate (text or JSON). ``--write-policy`` writes the policy's next version with the
certified threshold and the certificate's digest in ``metadata.certificate``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli import CommandError
from gateway.cli.report import add_db_flag, open_db, parse_when, write_output

__all__ = ["add_error_flags", "load_history", "parse_unit", "register"]


def parse_unit(flag: str, text: str) -> float:
    """A number strictly between 0 and 1, or exit 1 naming the flag."""
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{flag}: {text!r} is not a number", code=1) from None
    if not 0.0 < value < 1.0 or math.isnan(value):
        raise CommandError(f"{flag}: {text} is outside (0, 1)", code=1)
    return value


def add_error_flags(p: argparse.ArgumentParser) -> None:
    """Where the labelled history comes from, and what counts as a model error."""
    p.add_argument("--file", metavar="FILE", help="a feedback export (JSONL, or .parquet) instead of the database")
    p.add_argument("--decision-type", metavar="TYPE", help="decision type (required with --db)")
    p.add_argument("--since", metavar="ISO", help="decisions created from (default: the beginning)")
    p.add_argument("--until", metavar="ISO", help="decisions created before (default: now)")
    p.add_argument(
        "--error-actions",
        default="OVERRIDE,REJECT",
        metavar="A,B",
        help="reviewer actions that count as a model error besides a changed outcome "
        "(default OVERRIDE,REJECT; add EDIT to count payload edits)",
    )
    add_db_flag(p)


def load_history(args: argparse.Namespace) -> Any:
    """The History the flags name; bad input raises one-line errors (exit 1)."""
    from gateway.reports.labelled import read_database, read_file

    actions = frozenset(a.strip().upper() for a in args.error_actions.split(",") if a.strip())
    unknown = actions - {"APPROVE", "EDIT", "OVERRIDE", "REJECT"}
    if unknown:
        raise CommandError(f"--error-actions: unknown action {sorted(unknown)[0]}", code=1)
    since = parse_when("--since", args.since) if args.since else None
    until = parse_when("--until", args.until) if args.until else None
    if since and until and since >= until:
        raise CommandError(f"--since {args.since} is not before --until {args.until}", code=1)
    if args.file:
        return read_file(Path(args.file), args.decision_type, since, until, actions)
    if not args.decision_type:
        raise CommandError("--decision-type: required when reading the database", code=1)
    lo = since or datetime(1970, 1, 1, tzinfo=UTC)
    hi = until or datetime.now(UTC)
    with open_db(args.db) as engine, engine.connect() as conn:  # type: ignore[attr-defined]
        return read_database(conn, args.decision_type, lo, hi, actions)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` to the command tree."""
    p = sub.add_parser(
        "calibrate",
        help="certify an auto threshold on labelled history (Learn-then-Test)",
        description="Certify: among decisions with confidence >= threshold, the model's error "
        "rate is at most --alpha with probability at least 1 - --delta.",
    )
    add_error_flags(p)
    p.add_argument("--alpha", default="0.05", help="tolerated error rate among automatic decisions (default 0.05)")
    p.add_argument("--delta", default="0.1", help="chance the certificate may be wrong (default 0.1)")
    p.add_argument("--second-alpha", metavar="A", help="also certify a second band's boundary at this error rate")
    p.add_argument("--delta-split", default="0.5", help="share of delta for the auto tier when there are two")
    p.add_argument(
        "--grid",
        default="0.5:0.995:0.005",
        metavar="START:STOP:STEP",
        help="candidate thresholds, fixed before labels are read (default 0.5:0.995:0.005)",
    )
    p.add_argument("--model-version", metavar="MODEL@VERSION", help="use only this model version's rows")
    p.add_argument("--allow-mixed-models", action="store_true", help="certify over several model versions at once")
    p.add_argument("--policy", metavar="FILE", help="the policy in force (its thresholds; needed for --write-policy)")
    p.add_argument(
        "--write-policy", metavar="FILE", help="write the policy's next version with the certified threshold"
    )
    p.add_argument("--format", default="text", help="text (default) or json")
    p.add_argument("--out", metavar="FILE", help="write the certificate here instead of stdout")
    p.set_defaults(handler=_run)


def _grid(text: str) -> Any:
    from gateway.calibration import grid

    try:
        start, stop, step = (float(x) for x in text.split(":"))
    except ValueError:
        raise CommandError(f"--grid: {text!r} is not START:STOP:STEP", code=1) from None
    if not (0.0 <= start <= stop <= 1.0 and step > 0):
        raise CommandError(f"--grid: {text} needs 0 <= START <= STOP <= 1 and STEP > 0", code=1)
    return grid(start, stop, step)


def _run(args: argparse.Namespace) -> int:
    from gateway.calibration import Labelled, build, digest, quality, render_text
    from gateway.cli.calibrate_policy import current_thresholds, write_next_version

    alpha, delta = parse_unit("--alpha", args.alpha), parse_unit("--delta", args.delta)
    second = parse_unit("--second-alpha", args.second_alpha) if args.second_alpha else None
    split = parse_unit("--delta-split", args.delta_split)
    if args.format not in ("text", "json"):
        raise CommandError(f"--format: {args.format!r} is not one of text, json", code=1)
    if args.write_policy and not args.policy:
        raise CommandError("--write-policy needs --policy FILE (the version to start from)", code=1)
    thresholds = _grid(args.grid)
    policy = current_thresholds(Path(args.policy)) if args.policy else None
    hist = load_history(args)
    if policy and hist.decision_type and policy["decision"] != hist.decision_type:
        raise CommandError(f"--policy: {args.policy} decides {policy['decision']}, not {hist.decision_type}", code=1)
    if len(hist.conf) == 0:
        raise CommandError(
            f"no labelled rows for {hist.decision_type or 'any decision type'} in "
            f"{hist.since or 'the file'} .. {hist.until or ''}",
            code=1,
        )
    if args.model_version:
        hist = hist.only_model(args.model_version)
        if len(hist.conf) == 0:
            raise CommandError(f"--model-version: no labelled rows of {args.model_version}", code=1)
    models = hist.models()
    if len(models) > 1 and not args.allow_mixed_models:
        raise CommandError(
            f"the rows mix model versions {', '.join(models)}: pass --model-version or --allow-mixed-models", code=1
        )
    data = Labelled(hist.conf, hist.err, hist.pi, hist.pop_conf, hist.pop_pi)
    meta = {
        "decision_type": hist.decision_type,
        "source": hist.source,
        "window": {
            "since": args.since and hist.since or hist.first or hist.since,
            "until": args.until and hist.until or hist.last or hist.until,
            "first_decision": hist.first or None,
            "last_decision": hist.last or None,
        },
        "policies": [{"name": n, "version": v, "digest": d} for (n, v), d in sorted(hist.policies.items())],
        "models": models,
        "labels": {
            "rows": len(hist.conf),
            "errors": int(hist.err.sum()),
            "error_actions": sorted(a.strip().upper() for a in args.error_actions.split(",") if a),
            "basis": "stratum sizes counted in the database"
            if hist.pop_conf is not None
            else "stratum sizes estimated as sum(1/pi) from the file",
        },
        "quality": {m: quality(h.conf, h.err, h.pi) for m in models for h in [hist.only_model(m)]},
    }
    current = (policy["auto"], policy["second"]) if policy else (None, None)
    cert = build(
        data, thresholds, alpha=alpha, delta=delta, meta=meta, second_alpha=second, delta_split=split, current=current
    )
    cert["generated_at"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    text = json.dumps(cert, indent=2, sort_keys=True) + "\n" if args.format == "json" else render_text(cert) + "\n"
    write_output(args.out, lambda fh: fh.write(text))
    if args.write_policy:
        if cert["threshold"] is None:
            raise CommandError("--write-policy: nothing was certified, so no policy was written", code=1)
        tiers = {t["tier"]: t["threshold"] for t in cert["tiers"]}
        version = write_next_version(
            Path(args.policy),
            Path(args.write_policy),
            tiers["auto"],
            tiers.get("second_band"),
            digest(cert),
            cert,
            args.out,
        )
        print(f"wrote {args.write_policy}: version {version}, auto iff confidence >= {tiers['auto']}", file=sys.stderr)
    return 0
