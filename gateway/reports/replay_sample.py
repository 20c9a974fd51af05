"""Replay samples: stored decisions exported to a JSONL file, so a replay needs no database.

A pull request's CI cannot reach the production database; it can read a sample exported from
it. The file's first line is a header, each further line one decision::

    {"format": "signoff.replay-sample/1", "decision_type": "claims.payout",
     "since": "2026-01-05T00:00:00Z", "until": "2026-01-06T00:00:00Z", "decisions": 2000}
    {"created_at": "...", "input": {...}, "proposal": {"outcome": "approve", "confidence": 0.97,
     "scores": {}, "model": "claims-v3"}, "route": "auto", "status": "AUTO_DECIDED",
     "final_outcome": "approve", "action": "", "sample_probability": 0.02, "correction": null,
     "audited": false}

A sample holds the decisions' inputs: treat it like the database it came from. Reading checks
every line and names the line and the field of the first problem.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.record import iso_utc
from gateway.errors import InvalidRequest
from gateway.reports.replay import Row

__all__ = ["FORMAT", "SampleHeader", "iso_created", "read_sample", "sample_lines"]

FORMAT = "signoff.replay-sample/1"
_STATUSES = frozenset({"AUTO_DECIDED", "PENDING_REVIEW", "IN_REVIEW", "HUMAN_DECIDED", "EXPIRED"})


class SampleHeader:
    """What a sample's first line says: its decision type and window."""

    __slots__ = ("decision_type", "since", "until")

    def __init__(self, decision_type: str, since: datetime, until: datetime) -> None:
        self.decision_type, self.since, self.until = decision_type, since, until


def sample_lines(rows: Iterable[Row], decision_type: str, since: datetime, until: datetime) -> Iterator[str]:
    """The sample file's lines (each without its newline) for stored ``rows``: header first."""
    body = [_record(row) for row in rows]
    header = {
        "format": FORMAT,
        "decision_type": decision_type,
        "since": iso_utc(since),
        "until": iso_utc(until),
        "decisions": len(body),
    }
    yield json.dumps(header, sort_keys=True)
    for record in body:
        yield json.dumps(record, sort_keys=True, ensure_ascii=False)


def iso_created(created: Any) -> str:
    """A stored or exported creation time as comparable ISO text (UTC, 'T', 'Z')."""
    if isinstance(created, datetime):
        when = created
    else:
        when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    return iso_utc(when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC))


def _record(row: Row) -> dict[str, Any]:
    """One stored row as the sample's JSON object."""
    (inp, outcome, conf, scores, model, route, status, final, action, pi, correction, created, audited) = row
    return {
        "created_at": iso_created(created),
        "input": json.loads(inp),
        "proposal": {
            "outcome": outcome,
            "confidence": conf,
            "scores": json.loads(scores) if scores else {},
            "model": model,
        },
        "route": route,
        "status": status,
        "final_outcome": final or "",
        "action": action or "",
        "sample_probability": pi,
        "correction": json.loads(correction) if correction else None,
        "audited": bool(audited),
    }


def read_sample(path: str | Path) -> tuple[SampleHeader, list[Row]]:
    """The header and rows of a sample file; ``InvalidRequest`` names the line and field of a problem."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidRequest(str(p), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(str(p), f"cannot be read ({type(exc).__name__})") from None
    if not lines:
        raise InvalidRequest(f"{p}:1", "empty (expected a replay sample header)")
    head = _object(p, 1, lines[0])
    if head.get("format") != FORMAT:
        raise InvalidRequest(f"{p}:1: format", f"not {FORMAT!r} (is this a replay sample?)")
    for name in ("decision_type", "since", "until"):
        if not isinstance(head.get(name), str):
            raise InvalidRequest(f"{p}:1: {name}", "missing")
    try:
        since, until = datetime.fromisoformat(head["since"]), datetime.fromisoformat(head["until"])
    except ValueError:
        raise InvalidRequest(f"{p}:1: since/until", "not ISO-8601 times") from None
    if since.tzinfo is None or until.tzinfo is None:
        raise InvalidRequest(f"{p}:1: since/until", "must carry a zone (for example Z)")
    rows = [_row(p, i, line) for i, line in enumerate(lines[1:], start=2) if line.strip()]
    return SampleHeader(head["decision_type"], since, until), rows


def _object(p: Path, n: int, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{p}:{n}", f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{p}:{n}", "not a JSON object")
    return value


def _row(p: Path, n: int, line: str) -> Row:
    """One decision line as a replay row, checked field by field."""
    r = _object(p, n, line)

    def need(name: str, kind: type | tuple[type, ...], within: dict[str, Any] = r, prefix: str = "") -> Any:
        value = within.get(name)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise InvalidRequest(f"{p}:{n}: {prefix}{name}", "missing or of the wrong type")
        return value

    proposal = need("proposal", dict)
    conf = need("confidence", (int, float), proposal, "proposal.")
    if not (math.isfinite(conf) and 0.0 <= conf <= 1.0):
        raise InvalidRequest(f"{p}:{n}: proposal.confidence", f"{conf} is not a number in [0, 1]")
    pi = need("sample_probability", (int, float))
    if not (math.isfinite(pi) and 0.0 <= pi <= 1.0):
        raise InvalidRequest(f"{p}:{n}: sample_probability", f"{pi} is outside [0, 1]")
    status = need("status", str)
    if status not in _STATUSES:
        raise InvalidRequest(f"{p}:{n}: status", f"{status!r} is not a decision status")
    correction = r.get("correction")
    if correction is not None and not (isinstance(correction, dict) and {"outcome", "action"} <= set(correction)):
        raise InvalidRequest(f"{p}:{n}: correction", "must be null or an object with outcome and action")
    return (
        json.dumps(need("input", dict)),
        need("outcome", str, proposal, "proposal."),
        float(conf),
        json.dumps(need("scores", dict, proposal, "proposal.")),
        need("model", str, proposal, "proposal."),
        need("route", str),
        status,
        need("final_outcome", str),
        need("action", str),
        float(pi),
        json.dumps(correction) if correction is not None else "",
        need("created_at", str),
        need("audited", bool),
    )
