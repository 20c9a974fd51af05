"""The gateway's checkpointer: signs the chain head and publishes it where the writer cannot rewrite.

Every ``every_events`` events or ``every_seconds`` seconds (whichever comes first), and at
shutdown, the head ``(seq, hash)`` is signed (``audit.checkpoint``), stored in ``checkpoints``
and published: a new file in an append-only directory (which may sit on other storage), a log
line, and optionally an HTTP witness speaking ``tlog-witness`` add-checkpoint. A witness that
fails never stops the gateway: the failure is counted and logged.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine

from audit.anchor import hash_at, judge, last_checkpoint, store_checkpoint
from audit.checkpoint import Checkpoint, NoteError, SignerKey, VerifierKey, sign_checkpoint, verify_checkpoint
from audit.store import AuditLog
from gateway.adapters.db import WRITE
from gateway.errors import InvalidRequest, PreconditionFailed

__all__ = ["add_checkpoint", "Checkpointer", "check_not_behind", "load_signer", "published_notes"]


def _log() -> structlog.typing.FilteringBoundLogger:
    """The logger, looked up per use so it follows the current logging configuration."""
    return structlog.get_logger("signoff.checkpoints")  # type: ignore[no-any-return]


def load_signer(path: Path) -> SignerKey:
    """The signing key file; missing, unreadable or malformed is one line naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRequest(
            "--signing-key",
            f"cannot read {path}: {exc.strerror} (make one with `signoff keys init`, "
            "or pass --no-checkpoints to serve without signed checkpoints)",
        ) from None
    try:
        return SignerKey.parse(text, str(path))
    except NoteError as exc:
        raise InvalidRequest("--signing-key", str(exc)) from None


def published_notes(directory: Path) -> list[tuple[Path, str]]:
    """Every ``*.note`` file of ``directory`` in name (= seq) order, with its text."""
    if not directory.is_dir():
        return []
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.note"))]


def _keep(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` durably (the file and its directory are synced)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, text.encode() if text.endswith("\n") else (text + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Checkpointer:
    """Signs and publishes checkpoints of the chain head on ``engine``."""

    engine: Engine
    key: SignerKey
    directory: Path
    origin: str
    every_events: int = 1000
    every_seconds: float = 10.0
    witness_url: str | None = None
    witness_timeout: float = 5.0
    witness_failures: int = 0
    _last_seq: int = -1
    _last_time: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        with self.engine.connect() as conn:
            last = last_checkpoint(conn, "published")
        self._last_seq = -1 if last is None else last[0].size

    def tick(self, now: float) -> str | None:
        """Checkpoint if ``every_events`` events or ``every_seconds`` passed since the last one."""
        with self.engine.connect() as conn:
            head_seq, _ = AuditLog().head(conn)
        due = head_seq - self._last_seq >= self.every_events or now - self._last_time >= self.every_seconds
        if head_seq <= self._last_seq or not due:
            return None
        return self.checkpoint(now)

    def checkpoint(self, now: float = 0.0) -> str | None:
        """Sign the current head now (at shutdown, or when due); None when it is signed already."""
        with self._lock:
            with self.engine.connect() as conn:
                conn.execution_options(**WRITE)
                with conn.begin():
                    head_seq, head_hash = AuditLog().head(conn)
                    if head_seq <= self._last_seq:
                        return None
                    cp = Checkpoint(self.origin, head_seq, head_hash, _now())
                    note = sign_checkpoint(cp, self.key)
                    store_checkpoint(conn, "published", cp, note, self.key.verifier)
            old, self._last_seq, self._last_time = self._last_seq, head_seq, now
            self._publish(cp, note, max(old, 0))
            return note

    def _publish(self, cp: Checkpoint, note: str, old_size: int) -> None:
        path = self.directory / f"{cp.size:020d}.note"
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, note.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        dfd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        _log().info(
            "checkpoint_signed",
            seq=cp.size,
            hash=cp.root_hash,
            time=cp.time,
            origin=cp.origin,
            file=str(path),
            note=note,
        )
        if self.witness_url:
            self._witness(cp, note, old_size, path)

    def _witness(self, cp: Checkpoint, note: str, old_size: int, path: Path, *, retried: bool = False) -> None:
        """tlog-witness add-checkpoint: ``old <size>``, no proof lines (a hash chain), blank, note.

        A 409 carries the size the witness holds: when that is not ahead of ``cp``, the request
        is sent once more from there; a witness ahead of us has seen a newer head: refused. The
        cosignature lines the witness answers are kept beside the note (``<note>.cosig``), so
        verification can tell which checkpoints were witnessed.
        """
        try:
            status, answer = add_checkpoint(self.witness_url or "", old_size, note, self.witness_timeout)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            self.witness_failures += 1
            _log().warning(
                "checkpoint_witness_failed",
                seq=cp.size,
                witness=self.witness_url,
                error=str(exc),
                failures=self.witness_failures,
            )
            return
        if status == 200:
            _keep(path.with_name(path.name + ".cosig"), answer)
            _log().info("checkpoint_witnessed", seq=cp.size, witness=self.witness_url, cosignature=answer.strip())
            return
        answer = answer.strip()
        if status == 409 and not retried and answer.isdigit() and int(answer) <= cp.size:
            self._witness(cp, note, int(answer), path, retried=True)
            return
        self.witness_failures += 1
        _log().warning(
            "checkpoint_witness_refused",
            seq=cp.size,
            witness=self.witness_url,
            status=status,
            answer=answer[:200],
            failures=self.witness_failures,
        )


def add_checkpoint(url: str, old_size: int, note: str, timeout: float) -> tuple[int, str]:
    """C2SP tlog-witness ``POST <url>/add-checkpoint``: ``old <size>``, no proof lines (a hash
    chain has none), a blank line, the note. The HTTP status and the answer's text (a
    cosignature on 200, the size the witness holds on 409); a transport failure raises."""
    req = urllib.request.Request(
        url.rstrip("/") + "/add-checkpoint",
        data=f"old {old_size}\n\n{note}".encode(),
        method="POST",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def check_not_behind(engine: Engine, directory: Path, key: VerifierKey, *, override: bool) -> None:
    """Refuse to serve when the database is behind (or off) its last published checkpoint.

    The newest note of ``directory`` signed by ``key`` is judged against the chain; a cut tail
    or a rewrite raises ``PreconditionFailed`` in one line, unless ``override`` (logged).
    """
    notes = published_notes(directory)
    if not notes:
        return
    path, note = notes[-1]
    try:
        cp = verify_checkpoint(note, key, str(path))
    except NoteError as exc:
        raise PreconditionFailed(f"published checkpoint unusable: {exc}") from None
    with engine.connect() as conn:
        head_seq, _ = AuditLog().head(conn)
        finding = judge(cp, str(path), head_seq, hash_at(conn))
    if finding is None:
        return
    if override:
        _log().warning("checkpoint_check_overridden", finding=str(finding))
        return
    raise PreconditionFailed(
        f"refusing to serve: the database is behind its last published checkpoint: {finding}; "
        "pass --allow-behind-checkpoint to serve anyway (logged)"
    )
