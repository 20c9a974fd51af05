"""``signoff report``: the period compliance report as HTML, JSON or CSV, read from the database."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from gateway.cli import CommandError

__all__ = ["add_db_flag", "apply_logged", "open_db", "parse_when", "register", "write_output"]

T = TypeVar("T")
FORMATS = ("html", "json", "csv")


def add_db_flag(p: argparse.ArgumentParser) -> None:
    """``--db URL``, defaulting to SIGNOFF_DATABASE_URL or the local SQLite file."""
    p.add_argument(
        "--db",
        default=os.environ.get("SIGNOFF_DATABASE_URL", "sqlite:///var/signoff.db"),
        help="database URL (env SIGNOFF_DATABASE_URL; default sqlite:///var/signoff.db)",
    )


def parse_when(flag: str, value: str) -> datetime:
    """An ISO-8601 date or time; one without a zone is taken as UTC. Bad input: exit 2."""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise CommandError(
            f"{flag}: {value!r} is not an ISO-8601 date or time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)", code=2
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def parse_period(start_flag: str, start: str, end_flag: str, end: str) -> tuple[datetime, datetime]:
    """Both ends parsed; the start must come before the end."""
    a, b = parse_when(start_flag, start), parse_when(end_flag, end)
    if a >= b:
        raise CommandError(f"{start_flag} {start} is not before {end_flag} {end}", code=2)
    return a, b


@contextmanager
def open_db(url: str) -> Iterator[object]:
    """A checked engine on ``url``, disposed on exit; a missing SQLite file is an error, not created."""
    from sqlalchemy import inspect, make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from gateway.adapters.db import describe_url, make_engine
    from gateway.errors import StoreUnavailable

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(f"invalid database URL: {describe_url(url)}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        raise StoreUnavailable(f"database {describe_url(url)} is unavailable: no such file")
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("decisions"):
            raise StoreUnavailable(f"database {describe_url(url)} has no Signoff tables; run signoff serve once")
        yield engine
    except SQLAlchemyError as exc:
        first = (str(getattr(exc, "orig", exc)).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreUnavailable(f"database {describe_url(url)}: {first}") from None
    finally:
        engine.dispose()


def apply_logged(
    engine: Any,
    type_: str,
    actor: str,
    body: dict[str, Any],
    *,
    decision_type: str = "",
    inserts: tuple[Any, ...] = (),
    updates: tuple[Any, ...] = (),
) -> int:
    """Apply, from the command line, one Change of ``inserts`` and guarded ``updates`` with the
    event that records them (through the store's own writer, chain and guards); its seq."""
    from audit.record import NewEvent, canonical_json
    from gateway.adapters.sql_store import apply_once
    from gateway.review.change import Change

    event = NewEvent(
        type=type_,
        time=datetime.now(UTC),
        actor=actor,
        body=body,
        decision_type=decision_type,
        body_json=canonical_json(body),
    )
    return int(apply_once(engine, Change(inserts=inserts, updates=updates, events=(event,))).receipts[-1].seq)


def write_output(out: str | None, write: Callable[[io.TextIOBase], T]) -> T:
    """Run ``write`` on the --out file (written whole, or not at all) or on stdout."""
    if not out:
        return write(sys.stdout)  # type: ignore[arg-type]
    path = Path(out)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            result = write(fh)  # type: ignore[arg-type]
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CommandError(f"--out {out}: cannot write: {exc.strerror}", code=2) from None
    return result


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``report`` to the command tree."""
    p = sub.add_parser(
        "report",
        help="the compliance report for a period (HTML, JSON or CSV)",
        description="Figures for decisions created in [--from, --to), read from the database.",
    )
    p.add_argument("--from", dest="start", required=True, metavar="ISO", help="period start (inclusive)")
    p.add_argument("--to", dest="end", required=True, metavar="ISO", help="period end (exclusive)")
    p.add_argument("--format", default="html", help="html (default), json or csv")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the full chain verification (faster; the report says it was skipped)",
    )
    p.add_argument(
        "--public-key",
        default=None,
        help="walk only what came after the newest checkpoint `signoff audit verify --signing-key` "
        "verified and signed with this key's private half (incremental verification)",
    )
    add_db_flag(p)
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.adapters.db import describe_url
    from gateway.reports import build_report, render_html, report_rows

    if args.format not in FORMATS:
        raise CommandError(f"--format: {args.format!r} is not one of {', '.join(FORMATS)}", code=2)
    start, end = parse_period("--from", args.start, "--to", args.end)
    verifier = None
    if args.public_key:
        from pathlib import Path

        from gateway.cli.audit_anchor import load_verifier

        verifier = load_verifier(Path(args.public_key))
    with open_db(args.db) as engine:
        report = build_report(
            engine,  # type: ignore[arg-type]  # open_db yields an Engine
            start,
            end,
            verify=not args.no_verify,  # type: ignore[arg-type]
            source=describe_url(args.db),
            verifier=verifier,
        )

    def write(fh: io.TextIOBase) -> None:
        if args.format == "json":
            fh.write(json.dumps(report, indent=2, sort_keys=False) + "\n")
        elif args.format == "csv":
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["section", "key", "metric", "value"])
            for section, key, metric, value in report_rows(report):
                w.writerow([section, key, metric, "" if value is None else value])
        else:
            fh.write(render_html(report))

    write_output(args.out, write)
    chain = report["chain"]
    return 1 if chain["verified"] and not chain["ok"] else 0
