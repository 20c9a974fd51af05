"""Nothing acknowledged is lost: restarts, kill -9, and a tampered log found by verify."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import grpc
import pytest

from gateway.cli import main as cli
from signoff.v1 import decision_pb2
from tests.conftest import Client, auth, spawn_serve
from tests.gateway.helpers import assert_auto_decided, claim, claim_request, decide, submit


def _serve(db_url: str, policy_dir: Path) -> tuple[subprocess.Popen, str]:
    """A gateway process on ``db_url``: (process, address)."""
    return spawn_serve(db_url, policy_dir)


class TestRestart:
    """State lives in the database, not the process."""

    def test_acknowledged_decision_survives_kill_9(self, db_url, policy_dir):
        """A decision acknowledged before SIGKILL is there after a restart."""
        proc, address = _serve(db_url, policy_dir)
        with grpc.insecure_channel(address) as ch:
            held = decide(Client(ch, address), claim_request(confidence=0.8))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc, address = _serve(db_url, policy_dir)
        try:
            with grpc.insecure_channel(address) as ch:
                got = Client(ch, address).decisions.GetDecision(
                    decision_pb2.GetDecisionRequest(decision_id=held.decision_id), metadata=auth("caller"), timeout=30
                )
            assert got.decision.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW
        finally:
            proc.terminate()
            proc.wait(30)

    def test_kill_9_under_load_loses_no_acknowledged_write_and_leaves_no_task_stuck(self, db_url, policy_dir):
        """SIGKILL while 8 callers decide and a reviewer holds a lease: after a restart every
        acknowledged decision and sign-off is stored, the chain verifies, and the claimed task
        comes back to its queue once its lease lapses."""
        proc, address = _serve(db_url, policy_dir)
        acknowledged: list[str] = []
        stop = threading.Event()
        with grpc.insecure_channel(address) as ch:
            c = Client(ch, address)
            decide(c, claim_request(confidence=0.8))
            leased = claim(c, "junior", "alice", lease=1.0).task

            def caller() -> None:
                while not stop.is_set():
                    try:
                        d = decide(c, claim_request(confidence=0.97))
                    except grpc.RpcError:
                        return  # the process died under this call: not acknowledged
                    acknowledged.append(d.decision_id)

            threads = [threading.Thread(target=caller) for _ in range(8)]
            for t in threads:
                t.start()
            while len(acknowledged) < 200:
                time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            stop.set()
            for t in threads:
                t.join()
        proc, address = _serve(db_url, policy_dir)
        try:
            with grpc.insecure_channel(address) as ch:
                c = Client(ch, address)
                assert_auto_decided(c, acknowledged)
                time.sleep(1.1)  # the lease taken before the kill lapses (a fact of the data, not a timing check)
                again = claim(c, "junior", "bob")
            assert again.task.task_id == leased.task_id
        finally:
            proc.terminate()
            proc.wait(30)
        code = cli(["audit", "verify", "--db", db_url])
        assert code == 0

    def test_pending_review_and_lease_survive_restart(self, db_url, policy_dir):
        """A claimed task keeps its lease across a restart and its holder can still submit."""
        proc, address = _serve(db_url, policy_dir)
        with grpc.insecure_channel(address) as ch:
            c = Client(ch, address)
            decide(c, claim_request(confidence=0.8))
            task = claim(c, "junior", "alice").task
        proc.terminate()
        assert proc.wait(30) == 0
        proc, address = _serve(db_url, policy_dir)
        try:
            with grpc.insecure_channel(address) as ch:
                c = Client(ch, address)
                assert not claim(c, "junior", "alice").HasField("task")
                done = submit(c, task.task_id, "alice", "approve").decision
            assert done.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        finally:
            proc.terminate()
            proc.wait(30)


def _db_file(db_url: str) -> str:
    return db_url.removeprefix("sqlite:///")


def _verify(db_url: str, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = cli(["audit", "verify", "--db", db_url])
    return code, capsys.readouterr().out


class TestTamperEvidence:
    """verify finds the first row that was changed, removed or inserted."""

    @pytest.fixture
    def log(self, client, gateway, db_url):  # type: ignore[no-untyped-def]
        """A log of a few decisions, with the gateway stopped and the triggers dropped."""
        for _ in range(3):
            decide(client, claim_request(confidence=0.97))
        gateway.stop()
        con = sqlite3.connect(_db_file(db_url))
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in names:
            con.execute(f"DROP TRIGGER {name}")
        con.commit()
        yield con
        con.close()

    def test_clean_log_verifies(self, log, db_url, capsys):
        """An untouched log verifies and prints its head hash."""
        code, out = _verify(db_url, capsys)
        assert code == 0 and "chain ok" in out and "head hash" in out

    def test_edited_field_is_found(self, log, db_url, capsys):
        """A changed actor column is reported at its sequence number."""
        log.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
        log.commit()
        code, out = _verify(db_url, capsys)
        assert code == 1 and "seq 4" in out and "changed" in out

    def test_deleted_row_is_found(self, log, db_url, capsys):
        """A removed row is reported where the chain breaks."""
        log.execute("DELETE FROM audit_events WHERE seq = 5")
        log.commit()
        code, out = _verify(db_url, capsys)
        assert code == 1 and "seq 5" in out and "removed" in out

    def test_inserted_row_is_found(self, log, db_url, capsys):
        """A well-forged row squeezed in, with the later rows renumbered, is reported as inserted."""
        from audit.chain import chain_hash, event_preimage

        cols = [d[0] for d in log.execute("SELECT * FROM audit_events LIMIT 1").description]
        row4 = dict(zip(cols, log.execute("SELECT * FROM audit_events WHERE seq = 4").fetchone(), strict=True))
        # The attacker rebuilds the table without its uniqueness guards, as anyone holding the file can.
        log.execute("CREATE TABLE bare AS SELECT * FROM audit_events")
        log.execute("DROP TABLE audit_events")
        log.execute("ALTER TABLE bare RENAME TO audit_events")
        log.execute("UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 5")
        log.execute("UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1005")
        forged = {**row4, "seq": 5, "actor": "mallory", "prev_hash": row4["hash"]}
        preimage = event_preimage(
            forged["seq"],
            _time(forged["time"]),
            forged["type"],
            forged["decision_id"],
            forged["actor"],
            forged["policy_name"],
            forged["policy_version"],
            forged["policy_digest"],
            forged["body_json"],
            forged["decision_type"],
        )
        forged["hash"] = chain_hash(forged["prev_hash"], preimage)
        log.execute(
            f"INSERT INTO audit_events ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [forged[c] for c in cols],
        )
        log.commit()
        code, out = _verify(db_url, capsys)
        assert code == 1 and "seq 5" in out and "inserted" in out


def _time(value: str):  # type: ignore[no-untyped-def]
    """A stored SQLite time column back as the aware UTC datetime the hash was computed over."""
    from datetime import UTC, datetime

    return datetime.fromisoformat(value).replace(tzinfo=UTC)
