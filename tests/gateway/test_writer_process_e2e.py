"""`signoff serve` with its writer in a child process (the default, `--writer process`): kill -9 of either process kind loses no acknowledged
decision and leaves no task stuck (issue 9, step 2)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import grpc

from gateway.cli import main as cli
from tests.conftest import Client, eventually, spawn_serve
from tests.gateway.helpers import assert_auto_decided, claim, claim_request, decide


def _children(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _load(c: Client, acknowledged: list[str], refused: list[grpc.StatusCode], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            d = decide(c, claim_request(confidence=0.97))
        except grpc.RpcError as exc:
            if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
                raise
            refused.append(exc.code())  # not acknowledged: the batch's writer was killed, or the process
            time.sleep(0.01)
            continue
        acknowledged.append(d.decision_id)


class TestKillTheWriterProcess:
    def test_kill_9_of_the_writer_under_load_fails_only_unacknowledged_calls(self, db_url, policy_dir):
        """SIGKILL of the writer child while 8 callers decide and a reviewer holds a lease: the
        gateway keeps serving with a new child; every acknowledged decision is stored, the
        chain verifies, and the leased task comes back once its lease lapses."""
        proc, address = spawn_serve(db_url, policy_dir, "--writer", "process", stderr=None)
        acknowledged: list[str] = []
        refused: list[grpc.StatusCode] = []
        stop = threading.Event()
        try:
            with grpc.insecure_channel(address) as ch:
                c = Client(ch, address)
                decide(c, claim_request(confidence=0.8))
                leased = claim(c, "junior", "alice", lease=1.0).task
                (writer,) = _children(proc.pid)
                threads = [threading.Thread(target=_load, args=(c, acknowledged, refused, stop)) for _ in range(8)]
                for t in threads:
                    t.start()
                assert eventually(lambda: len(acknowledged) >= 200)
                os.kill(writer, signal.SIGKILL)
                before = len(acknowledged)
                assert eventually(lambda: len(acknowledged) >= before + 200)  # a new child took over
                stop.set()
                for t in threads:
                    t.join()

                (replacement,) = _children(proc.pid)
                assert replacement != writer
                assert_auto_decided(c, acknowledged)
                time.sleep(1.1)  # the lease taken before the kill lapses (a fact of the data, not a timing check)
                again = claim(c, "junior", "bob")
                assert again.task.task_id == leased.task_id
        finally:
            proc.terminate()
            proc.wait(30)
        assert cli(["audit", "verify", "--db", db_url]) == 0


class TestKillTheServingProcess:
    def test_kill_9_of_the_gateway_ends_its_writer_and_loses_nothing_acknowledged(self, db_url, policy_dir):
        """SIGKILL of the serving process under load: its writer child sees the end of its
        input and exits (no orphan holds the database), and after a restart every acknowledged
        decision is there and the chain verifies."""
        proc, address = spawn_serve(db_url, policy_dir, "--writer", "process", stderr=None)
        acknowledged: list[str] = []
        refused: list[grpc.StatusCode] = []
        stop = threading.Event()
        with grpc.insecure_channel(address) as ch:
            c = Client(ch, address)
            (writer,) = _children(proc.pid)
            threads = [threading.Thread(target=_load, args=(c, acknowledged, refused, stop)) for _ in range(8)]
            for t in threads:
                t.start()
            assert eventually(lambda: len(acknowledged) >= 200)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            stop.set()
            for t in threads:
                t.join()

        assert eventually(lambda: not _alive(writer))
        proc, address = spawn_serve(db_url, policy_dir, "--writer", "process", stderr=None)
        try:
            with grpc.insecure_channel(address) as ch:
                assert_auto_decided(Client(ch, address), acknowledged)
            (writer,) = _children(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
        assert eventually(lambda: not _alive(writer))  # a clean stop ends the child too
        assert cli(["audit", "verify", "--db", db_url]) == 0
