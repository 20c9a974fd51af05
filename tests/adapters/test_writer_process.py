"""The store with its writer in a child process (``signoff serve``'s default) holds to the Store
contract on every backend, and a killed child fails only the batch it held."""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

import tests.adapters.test_sql_store_contract as contract
from audit import AuditLog, PolicyConflict
from gateway import errors
from gateway.adapters.writer_process import ProcessSqlStore, _dumps
from gateway.errors import Conflict, InvalidRequest, PolicyError, StoreUnavailable
from gateway.review.change import Change, Update
from tests.adapters.test_sql_store_contract import apply, decision, hold, task


@pytest.fixture
def store(engine: Engine) -> Iterator[ProcessSqlStore]:
    """A store whose batches commit in a child process, closed afterwards."""
    s = ProcessSqlStore(engine)
    try:
        yield s
    finally:
        s.close()


class _OnSqlite:
    """The whole contract through the child on SQLite only: each test starts a child (about a
    second), and the PostgreSQL path differs from the thread's in nothing but the engine it
    opens, which ``TestTheChild`` below runs on both backends."""

    @pytest.fixture
    def db_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/signoff.db"


class TestDecisionsThroughAWriterProcess(_OnSqlite, contract.TestDecisions):
    """Round trips, request keys, guards and receipts, with the batch pickled to the child."""


class TestTasksThroughAWriterProcess(_OnSqlite, contract.TestTasks):
    """Claims and leases, with the batch pickled to the child."""


class TestGoldThroughAWriterProcess(_OnSqlite, contract.TestGold):
    """Gold cases, with the batch pickled to the child."""


class TestPoliciesThroughAWriterProcess(_OnSqlite, contract.TestPolicies):
    """Policy versions (and their conflicts), with the batch pickled to the child."""


def _errors() -> list[BaseException]:
    """One instance of every error the gateway raises on purpose, and the chain's PolicyConflict."""
    made: list[BaseException] = [
        InvalidRequest("input.amount", "missing"),
        PolicyError(["claims.yaml:3: $.rules: bad"]),
        PolicyConflict("claims-triage", 2, "sha256:aa", "sha256:bb"),
    ]
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, errors.SignoffError):
            if cls not in (InvalidRequest, PolicyError, errors.UnknownDecisionType):
                made.append(cls("a one-line reason"))
    made.append(errors.UnknownDecisionType("claims.payout"))
    return made


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_every_error_crosses_the_pipe_as_itself(error: BaseException) -> None:
    """An error a Change fails with is pickled by the child and read back here with its class,
    its text and its fields (``InvalidRequest.field``), so the caller's status code and detail
    are what the thread would have given."""
    back = pickle.loads(_dumps(error))

    assert type(back) is type(error)
    assert str(back) == str(error)
    assert vars(back) == vars(error)


class TestTheChild:
    def test_a_taken_key_crosses_back_as_conflict(self, store: ProcessSqlStore) -> None:
        """A record whose key is stored already fails its Change with ``Conflict``, as with the
        thread, and the same batch's other Changes commit."""
        apply(store, hold(decision(1), task(1)))

        with pytest.raises(Conflict, match="t-1"):
            apply(store, Change(inserts=(task(1),), updates=(Update(task(2), {}, "gone"),)))
        apply(store, hold(decision(2)))

        assert store.read(lambda tx: (tx.task("t-1"), tx.decision("d-2"))) == (task(1), decision(2))

    def test_a_killed_child_fails_its_batch_and_the_next_batch_gets_a_new_child(
        self, store: ProcessSqlStore, engine: Engine
    ) -> None:
        """``kill -9`` of the writer process: the write that meets the dead child is
        StoreUnavailable (never acknowledged), a new child takes the next batch, and the chain
        still verifies."""
        apply(store, hold(decision(1)))
        first = store.writer_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)

        with contextlib.suppress(StoreUnavailable):  # unacknowledged: stored or not
            apply(store, hold(decision(2)))
        apply(store, hold(decision(3)))

        assert store.writer_pid not in (None, first)
        assert store.children_started == 2
        assert store.read(lambda tx: (tx.decision("d-1"), tx.decision("d-3"))) == (decision(1), decision(3))
        assert AuditLog().verify(engine).ok

    def test_a_commit_failure_in_the_child_is_store_unavailable(self, store: ProcessSqlStore) -> None:
        """The child's failed transaction fails the batch with one line; the child lives on."""
        pid = store.writer_pid
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_gone"))

        with pytest.raises(StoreUnavailable, match="is unavailable"):
            apply(store, hold(decision(1)))

        assert store.writer_pid == pid
        assert store.read(lambda tx: tx.decision("d-1")) is None

    def test_the_child_logs_a_failed_batch_as_one_json_line(
        self, engine: Engine, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """What the child logs is the gateway's kind of log: a JSON object a line on stderr."""
        s = ProcessSqlStore(engine)  # started here, so its stderr is the captured one
        try:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_gone"))
            with pytest.raises(StoreUnavailable):
                apply(s, hold(decision(1)))
        finally:
            s.close()

        lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if '"signoff-writer"' in line]
        assert [(x["event"], x["level"]) for x in lines] == [("group commit of 1 changes failed", "error")]
        assert "audit_events" in lines[0]["exception"]

    def test_the_child_outlives_a_sigterm_until_the_gateway_lets_it_go(self, store: ProcessSqlStore) -> None:
        """A service manager's SIGTERM to every process of the gateway does not cut the writer
        off while the serving process drains: the child ignores it and ends with its input."""
        pid = store.writer_pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)

        apply(store, hold(decision(1)))

        assert store.writer_pid == pid and store.children_started == 1

    def test_closing_ends_the_child(self, engine: Engine) -> None:
        """``close`` commits what is queued, and the child exits on the end of its input."""
        s = ProcessSqlStore(engine)
        child = s._child
        assert child is not None
        apply(s, hold(decision(1)))
        s.close()

        assert child.returncode == 0
        with pytest.raises(StoreUnavailable):
            apply(s, hold(decision(2)))
