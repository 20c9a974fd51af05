"""``signoff audit verify`` against signed checkpoints: published notes, and incremental walks."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import Engine

from audit.anchor import check_published, hash_at, last_checkpoint, store_checkpoint
from audit.checkpoint import Checkpoint, NoteError, VerifierKey, sign_checkpoint, verify_checkpoint
from audit.parallel import verify_range
from audit.store import AuditLog
from audit.verify import VerifyReport
from gateway.adapters.checkpointer import add_checkpoint, load_signer, published_notes
from gateway.adapters.db import WRITE
from gateway.errors import InvalidRequest

__all__ = ["anchor_lines", "load_verifier", "state_lines", "walk"]


def load_verifier(path: Path) -> VerifierKey:
    """The public key file; unreadable or malformed is one line naming the file."""
    try:
        return VerifierKey.parse(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise InvalidRequest("--public-key", f"cannot read {path}: {exc.strerror}") from None
    except NoteError as exc:
        raise InvalidRequest("--public-key", str(exc)) from None


def walk(engine: Engine, args: argparse.Namespace) -> tuple[VerifyReport, list[str]]:
    """The chain walk: whole, or from the last self-verified signed checkpoint; then sign the head.

    With ``--signing-key`` (and no ``--full``), the walk starts after the newest ``verified``
    checkpoint whose signature is the key's and whose hash is still the chain's at its seq;
    anything else (none yet, another key, a hash that moved) walks the whole chain.
    """
    log = AuditLog()
    if args.signing_key is None:
        return log.verify(engine, workers=max(1, args.workers)), []
    signer = load_signer(Path(args.signing_key))
    notes: list[str] = []
    start = 0
    with engine.connect() as conn:
        last = last_checkpoint(conn, "verified")
        if last is not None and not args.full:
            try:
                cp = verify_checkpoint(last[1], signer.verifier, "checkpoints[verified]")
                if hash_at(conn)(cp.size) == cp.root_hash:
                    start = cp.size
                else:
                    notes.append(f"last verified checkpoint (seq {cp.size}) no longer matches the chain: full walk")
            except NoteError as exc:
                notes.append(f"last verified checkpoint unusable ({exc}): full walk")
        if start:
            report = verify_range(log, conn, start, None)
            report = VerifyReport(
                report.ok, start + report.count, report.head_seq, report.head_hash, report.first_bad_seq, report.problem
            )
            notes.append(
                f"incremental: walked seq {start + 1}..{report.head_seq} after the checkpoint verified at seq {start}"
            )
        else:
            conn.rollback()
            report = log.verify(engine, workers=max(1, args.workers))
    if report.ok and report.head_seq > start:
        from datetime import UTC, datetime

        cp = Checkpoint(
            f"{signer.name}/verified",
            report.head_seq,
            report.head_hash,
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
        with engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                store_checkpoint(conn, "verified", cp, sign_checkpoint(cp, signer), signer.verifier)
        notes.append(f"signed verified checkpoint at seq {report.head_seq}")
    return report, notes


def anchor_lines(engine: Engine, args: argparse.Namespace) -> tuple[bool, list[str]]:
    """Judge the notes of ``--checkpoints DIR``: whether all is well, and the lines to print."""
    key = load_verifier(Path(args.public_key))
    directory = Path(args.checkpoints)
    if not directory.is_dir():
        raise InvalidRequest("--checkpoints", f"{directory} is not a directory")
    notes = [(str(p), text) for p, text in published_notes(directory)]
    with engine.connect() as conn:
        rep = check_published(conn, notes, key)
    lines = [str(f) for f in rep.findings]
    witnessed_ok = True
    if getattr(args, "witness_key", None):
        witnessed_ok, more = witness_lines(Path(args.witness_key), notes)
        lines += more
    if rep.newest is None:
        lines.append(f"checkpoints: none signed by {key.name} in {directory}: the log's end is not anchored")
        return rep.ok and rep.head_seq == 0, lines
    if rep.ok:
        lines.append(
            f"checkpoints ok: {rep.checked} published, newest seq {rep.newest.size} "
            f"signed at {rep.newest.time} by {key.name}+{key.id.hex()}"
        )
    lines.append(f"blind window: {rep.blind} events after seq {rep.newest.size} are covered by no checkpoint yet")
    return rep.ok and witnessed_ok, lines


def witness_lines(key_path: Path, notes: list[tuple[str, str]]) -> tuple[bool, list[str]]:
    """Each published note's cosignature by the witness of ``key_path``: (all witnessed, lines)."""
    from audit.checkpoint import NoteError, parse_checkpoint
    from audit.cosignature import CosignerKey, cosigned_at

    try:
        key = CosignerKey.parse(key_path.read_text(encoding="utf-8"), str(key_path))
    except OSError as exc:
        raise InvalidRequest("--witness-key", f"{key_path}: cannot be read ({exc.strerror})") from None
    except NoteError as exc:
        raise InvalidRequest("--witness-key", str(exc)) from None
    missing = []
    for source, note in notes:
        try:
            cp, _ = parse_checkpoint(note, source)
        except NoteError:
            continue  # reported as bad_note already
        cosig = Path(source + ".cosig")
        text = cosig.read_text(encoding="utf-8") if cosig.is_file() else ""
        if cosigned_at(cp.body(), text, key) is None:
            missing.append(f"UNWITNESSED at seq {cp.size}: no valid cosignature by {key.name} ({source})")
    if missing:
        return False, [*missing, f"witness {key.name}: {len(missing)} of {len(notes)} checkpoints never cosigned"]
    return True, [f"witness {key.name}: all {len(notes)} checkpoints cosigned"]


def state_lines(engine: Engine) -> tuple[bool, list[str]]:
    """``--state``: every ``decisions`` row that disagrees with its events, one line each."""
    from gateway.reports.state import check_state

    with engine.connect() as conn:
        found = [str(m) for m in check_state(conn)]
    return not found, found or ["state ok: every decision row says what its events say"]


def check_witness_flags(url: str, timeout: float) -> None:
    """``--witness`` is an http(s) URL and ``--witness-timeout`` positive, checked before any walk."""
    from gateway.cli import CommandError

    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--witness: {url!r} is not an http:// or https:// URL", code=2)
    if not timeout > 0:
        raise CommandError("--witness-timeout: must be a number of seconds above 0", code=2)


def asked_witness(engine: Engine, url: str, timeout: float) -> tuple[bool, list[str]]:
    """Ask a ``tlog-witness`` what it holds of this log: (all is well, the lines to print).

    The newest checkpoint the database published is presented with ``old 0``: a witness that
    holds a checkpoint of the origin answers 409 with the size it holds and records nothing (a
    witness that holds none cosigns it, so from now on it does). Held beyond the database head:
    the tail was cut, and the missing range is named. Held at a size the checkpoints table has
    no checkpoint for, or beyond its newest: the checkpoints table was rolled back.
    """
    import urllib.error

    from audit.anchor import list_checkpoints

    with engine.connect() as conn:
        head_seq, _ = AuditLog().head(conn)
        last = last_checkpoint(conn, "published")
        stored = {seq for seq, _ in list_checkpoints(conn, "published")}
    if last is None:
        if head_seq == 0:
            return True, [f"witness {url}: nothing to ask about yet (no event logged)"]
        return False, [
            f"ROLLED_BACK: the database holds {head_seq} events but no published checkpoint to present to "
            f"witness {url}: the checkpoints table is empty"
        ]
    cp, note = last
    try:
        status, answer = add_checkpoint(url, 0, note, timeout)
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, [f"witness {url} did not answer ({reason}): nothing was checked against it"]
    answer = answer.strip()
    if status == 200:
        return False, [
            f"UNWITNESSED: witness {url} held no checkpoint of {cp.origin}: it never saw this log before "
            f"(it holds seq {cp.size} now)"
        ]
    if status != 409 or not answer.isdigit():
        return False, [f"witness {url} refused: HTTP {status} {answer[:200]!r}"]
    held = int(answer)
    if held > head_seq:
        return False, [
            f"TRUNCATED at seq {head_seq + 1}: witness {url} holds a checkpoint at seq {held}, the database head "
            f"is seq {head_seq}: events {head_seq + 1}..{held} are missing"
        ]
    if held > cp.size or (held and held not in stored):
        return False, [
            f"ROLLED_BACK: witness {url} holds a checkpoint at seq {held}, which the checkpoints table "
            f"(newest seq {cp.size}) does not have"
        ]
    return True, [f"witness {url}: holds seq {held}, within the database head (seq {head_seq})"]
