"""The durable write in a process of its own (``signoff serve``'s default, ``--writer process``).

Why: the serving process is bound by one core's GIL. With the writer as a thread, the batch's
Python (building rows, chaining events, the driver's bookkeeping) holds the same GIL as the
event loop that answers calls. Here the writer thread of ``SqlStore`` stays (it still batches,
settles futures and runs ``on_commit``), but each batch's transaction runs in a child process:
the thread pickles the batch's Changes (plain data), writes them to the child's stdin and
waits on its stdout, which releases the GIL. The child runs the same ``apply_batch`` as the
thread would, in one transaction, and answers each Change's result and the touched decision
ids after its commit. Durability is unchanged: the caller is answered only after the child's
commit; SQLite stays WAL with ``synchronous=FULL``; there is one writer per chain.

A frame is an 8-byte big-endian length and a pickle. The first frame to the child is the
database URL (never on the command line, where ``ps`` would show a password).

Failure: if the child dies (``kill -9``, out of memory), the batch it held fails with
``StoreUnavailable`` (nothing acknowledged; a caller retrying with its request id gets the
decision if the child had committed it), and the next batch starts a new child. If the
serving process dies, the child reads end-of-file on stdin and exits; a transaction it had
not committed is rolled back by the database.
"""

from __future__ import annotations

import copyreg
import dataclasses
import io
import json
import logging
import operator
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from sqlalchemy import Engine

from audit import NewEvent
from gateway.adapters.sql_apply import ROWS, Result
from gateway.adapters.sql_store import SqlStore, run_transaction
from gateway.review.change import Applied, Change, Receipt, Update
from gateway.review.model import Proposal

__all__ = ["ProcessSqlStore", "WriterProcessGone"]

log = logging.getLogger(__name__)
_HEADER = 8


class WriterProcessGone(RuntimeError):
    """The writer process ended before it answered a batch."""


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    return cls(*values)


def _reducer(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """Pickle a frozen dataclass as its constructor and its field values, read in C
    (``attrgetter``): about twice as fast to load as the generic slots state, and faster to dump.
    An event whose canonical ``body_json`` is made travels without its ``body`` mapping: the
    writer stores and hashes the text, never the mapping."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    values = operator.attrgetter(*names)
    if cls is NewEvent:
        if names[-1] != "body_json":
            raise RuntimeError("NewEvent.body_json is no longer its last field: update writer_process._reducer")
        body = names.index("body")

        def reduce_event(obj: Any) -> tuple[Any, ...]:
            got = values(obj)
            if got[-1]:  # body_json
                got = (*got[:body], {}, *got[body + 1 :])
            return _rebuild, (cls, got)

        return reduce_event
    return lambda obj: (_rebuild, (cls, values(obj)))


def _dispatch() -> dict[Any, Any]:
    table: dict[Any, Any] = dict(copyreg.dispatch_table)
    for cls in (Change, Update, NewEvent, Applied, Receipt, Proposal, *ROWS):
        fields = dataclasses.fields(cls)
        if all(f.init for f in fields) and not hasattr(cls, "__post_init__"):
            table[cls] = _reducer(cls)
    return table


class _Pickler(pickle.Pickler):
    dispatch_table = _dispatch()


def _dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _send(stream: IO[bytes], obj: Any) -> None:
    blob = _dumps(obj)
    stream.write(len(blob).to_bytes(_HEADER, "big") + blob)
    stream.flush()


def _read_exactly(stream: IO[bytes], n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(stream: IO[bytes]) -> Any:
    """The next frame's object; ``EOFError`` at the end of the stream."""
    header = _read_exactly(stream, _HEADER)
    if header is None:
        raise EOFError("end of stream")
    body = _read_exactly(stream, int.from_bytes(header, "big"))
    if body is None:
        raise EOFError("end of stream inside a frame")
    return pickle.loads(body)  # frames come only from our own parent or child, over a pipe


class ProcessSqlStore(SqlStore):
    """``SqlStore`` whose batches commit in a child process (see the module docstring).

    ``engine`` serves the reads in this process; the child opens its own engine on the same
    URL (``make_engine``: the same durability settings)."""

    def __init__(self, engine: Engine, **options: Any) -> None:
        """``options`` as ``SqlStore``'s (``batch_max``, ``on_commit``)."""
        self._url = engine.url.render_as_string(hide_password=False)
        self._child: subprocess.Popen[bytes] | None = None
        self._child_lock = threading.Lock()
        self.children_started = 0
        self._spawn()  # at start-up, so a child that cannot start fails the start
        super().__init__(engine, **options)

    @property
    def writer_pid(self) -> int | None:
        """The writer process's pid (None until one runs)."""
        child = self._child
        return None if child is None else child.pid

    def _spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-m", "gateway.adapters.writer_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            _send(child.stdin, self._url)
            ready = _receive(child.stdout)
        except (EOFError, OSError) as exc:
            status = _discard(child)
            raise WriterProcessGone(f"the writer process did not start (exit status {status})") from exc
        if ready != ("ready", None):
            _discard(child)
            raise WriterProcessGone(f"the writer process did not start: {ready[1]}")
        self._child = child
        self.children_started += 1
        return child

    def _apply_changes(self, changes: list[Change]) -> tuple[list[Result], set[str]]:
        """Runs on the writer thread: the batch's transaction, in the child."""
        with self._child_lock:
            child = self._child
            if child is None or child.poll() is not None:
                if child is not None:
                    log.error("writer process %d exited with status %s; starting another", child.pid, child.returncode)
                child = self._spawn()
            assert child.stdin is not None and child.stdout is not None
            try:
                _send(child.stdin, changes)
                kind, payload = _receive(child.stdout)
            except (EOFError, OSError) as exc:
                self._child = None
                status = _discard(child)
                raise WriterProcessGone(f"the writer process exited (status {status}) before it answered") from exc
        if kind == "ok":
            return payload  # type: ignore[no-any-return]
        raise RuntimeError(str(payload))  # the child's transaction failed; the child lives on

    def close(self) -> None:
        """Commit what is queued, stop the writer thread, then let the child end."""
        super().close()
        with self._child_lock:
            child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        try:
            child.stdin.close()  # end of file: the child disposes of its engine and exits
            child.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        finally:
            if child.stdout is not None:
                child.stdout.close()


def _discard(child: subprocess.Popen[bytes]) -> int:
    """Make sure a child we no longer talk to is gone and its pipes closed; its exit status."""
    child.kill()  # already dead after end of file; a live one that broke the pipe goes too
    status = child.wait()
    for stream in (child.stdin, child.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:  # a broken pipe's unflushed bytes: nobody is there to read them
                pass
    return status


def _child_main() -> int:
    """The writer process: read the URL, then apply batches until stdin ends."""
    from gateway.adapters.db import make_engine

    # The serving process decides when to stop: a Ctrl-C in the terminal or a service manager's
    # SIGTERM to every process of the unit reaches it too, and it drains, then closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(1), "wb")  # the frames' own descriptor; fd 1 becomes stderr, so
    os.dup2(2, 1)  # nothing printed, by Python or a C library, can land in the middle of a frame
    sys.stdout = sys.stderr
    try:
        url = _receive(inbox)
        engine = make_engine(url)
    except Exception as exc:  # noqa: BLE001 - any start failure is told to the parent in one line
        _send(outbox, ("failed", _one_line(exc)))
        return 1
    _send(outbox, ("ready", None))
    try:
        while True:
            try:
                changes = _receive(inbox)
            except EOFError:
                return 0
            try:
                reply: tuple[str, Any] = ("ok", run_transaction(engine, changes))
            except Exception as exc:  # a failed batch fails its callers, not the process
                logging.getLogger(__name__).exception("group commit of %d changes failed", len(changes))
                reply = ("failed", _one_line(exc))
            try:
                blob = _dumps(reply)
            except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable error object in a result
                blob = _dumps(("failed", f"the batch's answer could not be sent: {_one_line(exc)}"))
            try:
                outbox.write(len(blob).to_bytes(_HEADER, "big") + blob)
                outbox.flush()
            except OSError:
                return 0  # the serving process is gone
    finally:
        engine.dispose()


class _JsonLines(logging.Formatter):
    """The writer process logs as the gateway does: one JSON object a line on stderr."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": "signoff-writer",
            "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


if __name__ == "__main__":
    # Run the module's named twin, not this ``__main__`` copy: pickles made here must name
    # ``gateway.adapters.writer_process._rebuild``, which the serving process can import.
    from gateway.adapters.writer_process import _child_main as main

    sys.exit(main())
