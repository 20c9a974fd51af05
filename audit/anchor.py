"""Checkpoints against the chain: store them, read them, and judge a published one.

The chain alone cannot show a cut tail or a re-chained stretch; a checkpoint signed earlier and
held outside the database can. ``judge`` says what one checkpoint proves about the database as
it is now: nothing wrong, a **truncation** (the head is behind the signed size: the events in
between are missing), or a **rewrite** (the chain's hash at the signed seq is another one).
``store`` and ``read`` use SQLAlchemy Core on the caller's connection; the private key never
comes near the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, insert, select

from audit.checkpoint import Checkpoint, NoteError, VerifierKey, parse_checkpoint, verify_checkpoint
from audit.record import GENESIS
from audit.schema import audit_events, checkpoints

__all__ = [
    "AnchorReport",
    "Finding",
    "check_published",
    "Kind",
    "hash_at",
    "incremental_start",
    "judge",
    "last_checkpoint",
    "list_checkpoints",
    "store_checkpoint",
]

Kind = Literal["published", "verified"]
_C = checkpoints.c
_E = audit_events.c


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a checkpoint shows: ``problem`` at ``seq``, with the note's ``source``."""

    problem: Literal["truncated", "rewritten", "rolled_back", "bad_note", "unwitnessed"]
    seq: int
    source: str
    detail: str

    def __str__(self) -> str:
        return f"{self.problem.upper()} at seq {self.seq}: {self.detail} ({self.source})"


def store_checkpoint(conn: Connection, kind: Kind, cp: Checkpoint, note: str, key: VerifierKey) -> None:
    """Insert ``note`` (the signed ``cp``) in the caller's transaction; a trigger refuses going back."""
    conn.execute(
        insert(checkpoints).values(
            kind=kind,
            seq=cp.size,
            hash=cp.root_hash,
            time=cp.time,
            origin=cp.origin,
            key_id=key.id.hex(),
            note=note,
        )
    )


def last_checkpoint(conn: Connection, kind: Kind) -> tuple[Checkpoint, str] | None:
    """The newest stored checkpoint of ``kind`` and its note (not yet verified), or None."""
    row = conn.execute(select(_C.note).where(_C.kind == kind).order_by(_C.seq.desc()).limit(1)).first()
    return None if row is None else (parse_checkpoint(row.note, f"checkpoints[{kind}]")[0], row.note)


def list_checkpoints(conn: Connection, kind: Kind) -> list[tuple[int, str]]:
    """Every stored ``(seq, note)`` of ``kind`` in seq order."""
    rows = conn.execute(select(_C.seq, _C.note).where(_C.kind == kind).order_by(_C.seq)).all()
    return [(int(r.seq), r.note) for r in rows]


def hash_at(conn: Connection) -> Callable[[int], str | None]:
    """A lookup of the stored hash at a seq (the genesis at 0; None where no row is)."""

    def at(seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        row = conn.execute(select(_E.hash).where(_E.seq == seq)).first()
        return None if row is None else str(row.hash)

    return at


def judge(
    cp: Checkpoint, source: str, head_seq: int, at: Callable[[int], str | None], last_good: int = 0
) -> Finding | None:
    """What ``cp`` (verified, from ``source``) shows against a chain whose head is ``head_seq``.

    ``last_good`` is the newest earlier checkpoint that matched, so a rewrite is placed in
    ``(last_good, cp.size]``.
    """
    if cp.size > head_seq:
        return Finding(
            "truncated",
            head_seq + 1,
            source,
            f"events {head_seq + 1}..{cp.size} are missing: the log's head is seq {head_seq}, "
            f"but seq {cp.size} was signed at {cp.time}",
        )
    stored = at(cp.size)
    if stored != cp.root_hash:
        return Finding(
            "rewritten",
            cp.size,
            source,
            f"the chain's hash at seq {cp.size} is not the one signed at {cp.time}: rows in "
            f"{last_good + 1}..{cp.size} were rewritten",
        )
    return None


@dataclass(frozen=True, slots=True)
class AnchorReport:
    """Published checkpoints judged against the chain: what they cover and what they show."""

    checked: int
    newest: Checkpoint | None
    head_seq: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """Whether no checkpoint shows a problem."""
        return not self.findings

    @property
    def blind(self) -> int:
        """Events after the newest checkpoint: what no checkpoint can vouch for yet."""
        return max(0, self.head_seq - (self.newest.size if self.newest else 0))


def check_published(conn: Connection, notes: list[tuple[str, str]], key: VerifierKey) -> AnchorReport:
    """Judge every ``(source, note)`` held outside the database against the chain on ``conn``.

    Each note must be signed by ``key`` (else ``bad_note`` with its path and line); each
    shows nothing, a truncation or a rewrite (``judge``); and each must also be in the
    database's own ``checkpoints`` table, else the table was rolled back (``rolled_back``).
    """
    head = conn.execute(select(_E.seq).order_by(_E.seq.desc()).limit(1)).first()
    head_seq = 0 if head is None else int(head.seq)
    at = hash_at(conn)
    stored = {seq for seq, _ in list_checkpoints(conn, "published")}
    findings: list[Finding] = []
    good = 0
    newest: Checkpoint | None = None
    checked = 0
    cps: list[tuple[Checkpoint, str]] = []
    for source, note in notes:
        try:
            cps.append((verify_checkpoint(note, key, source), source))
        except NoteError as exc:
            findings.append(Finding("bad_note", 0, source, exc.reason + f" (line {exc.line})"))
    for cp, source in sorted(cps, key=lambda c: c[0].size):
        checked += 1
        newest = cp
        finding = judge(cp, source, head_seq, at, good)
        if finding is not None:
            findings.append(finding)
        else:
            good = cp.size
        if cp.size not in stored:
            findings.append(
                Finding(
                    "rolled_back",
                    cp.size,
                    source,
                    f"the checkpoint of seq {cp.size} is missing from the database's checkpoints table",
                )
            )
    truncated = [f for f in findings if f.problem == "truncated"]
    if len(truncated) > 1:  # one line naming the whole missing range: the newest checkpoint's
        findings = [f for f in findings if f.problem != "truncated" or f is truncated[-1]]
    return AnchorReport(checked, newest, head_seq, tuple(findings))


def incremental_start(conn: Connection, key: VerifierKey) -> Checkpoint | None:
    """The newest ``verified`` checkpoint a walk may start after, or None (walk everything).

    It must be signed by ``key`` and its hash must still be the chain's at its seq; anything
    else (none stored, another signer, a moved hash) means a full walk.
    """
    last = last_checkpoint(conn, "verified")
    if last is None:
        return None
    try:
        cp = verify_checkpoint(last[1], key, "checkpoints[verified]")
    except NoteError:
        return None
    return cp if hash_at(conn)(cp.size) == cp.root_hash else None
