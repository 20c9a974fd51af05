"""Two `signoff serve` processes on one PostgreSQL: nothing lost, nothing claimed twice, one chain."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, make_url, text

from audit import AuditLog
from gateway.adapters import make_engine
from signoff.v1 import decision_pb2, review_pb2
from tests.conftest import NO_POSTGRES, ROOT, Client, auth, spawn_serve
from tests.gateway.helpers import claim_request

POSTGRES_URL = os.environ.get("SIGNOFF_TEST_POSTGRES_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES),
]

DECISIONS = 400  # half routed to the junior queue
CALLERS = 8
REVIEWERS = 8
APP_ROLE = "signoff_app"


def schema_url(schema: str, user: str | None = None) -> str:
    """The test database confined to ``schema``, optionally as another user."""
    u = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    if user is not None:
        u = u.set(username=user, password=None)
    return u.render_as_string(hide_password=False)


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `signoff ARGS` as a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Replica:
    """One `signoff serve` process and a client channel to it."""

    process: subprocess.Popen[str]
    address: str
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(grpc.insecure_channel(self.address), self.address)

    def stop(self) -> None:
        """Close the channel and stop the process (SIGTERM, then kill)."""
        self.client.channel.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(db_url: str, policies: Path, *extra: str) -> Replica:
    """Start `signoff serve` on port 0 and wait for its 'serving on' line."""
    proc, address = spawn_serve(db_url, policies, *extra, stderr=subprocess.DEVNULL)
    return Replica(proc, address)


@dataclass
class Cluster:
    """Two replicas on one fresh schema; ``owner_url`` reads the results."""

    replicas: list[Replica]
    owner_url: str


@pytest.fixture
def cluster(request: pytest.FixtureRequest, policy_dir: Path) -> Iterator[Cluster]:
    """A fresh schema, migrated by its owner, served by two replicas connected as signoff_app
    (with the ``serve`` flags of the test's ``serve_flags`` marker, if any)."""
    marker = request.node.get_closest_marker("serve_flags")
    flags: tuple[str, ...] = tuple(marker.args) if marker else ()
    schema = f"signoff_replicas_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    replicas: list[Replica] = []
    try:
        migrated = cli("migrate", "--db", schema_url(schema))
        assert migrated.returncode == 0, migrated.stderr
        with ThreadPoolExecutor(2) as pool:
            replicas = list(pool.map(lambda _: serve(schema_url(schema, APP_ROLE), policy_dir, *flags), range(2)))
        yield Cluster(replicas, schema_url(schema))
    finally:
        for r in replicas:
            r.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_decides(replicas: list[Replica]) -> list[decision_pb2.Decision]:
    """DECISIONS Decide calls from CALLERS threads, alternating replicas; half in the review band."""

    def one(i: int) -> decision_pb2.Decision:
        client = replicas[i % 2].client
        req = claim_request(amount=1000.0 + i, confidence=0.8 if i % 2 else 0.97)
        return client.decisions.Decide(req, metadata=auth("caller"), timeout=30).decision

    with ThreadPoolExecutor(CALLERS) as pool:
        return list(pool.map(one, range(DECISIONS)))


def run_reviewers(replicas: list[Replica], deciding: threading.Event) -> list[str]:
    """REVIEWERS threads (alice and bob) claim and submit through both replicas until the queue is empty."""
    claimed: list[str] = []
    lock = threading.Lock()

    def reviewer(i: int) -> None:
        who = ("alice", "bob")[i % 2]
        for turn in itertools.count():
            client = replicas[(i + turn) % 2].client
            got = client.review.ClaimNext(review_pb2.ClaimNextRequest(queue="junior"), metadata=auth(who), timeout=30)
            if not got.HasField("task"):
                if not deciding.is_set():
                    return
                time.sleep(0.02)
                continue
            with lock:
                claimed.append(got.task.task_id)
            approve = turn % 2 == 0
            submit = review_pb2.SubmitRequest(
                task_id=got.task.task_id,
                action=decision_pb2.REVIEW_ACTION_APPROVE if approve else decision_pb2.REVIEW_ACTION_OVERRIDE,
                outcome="" if approve else "deny",
                reason="checked against the policy",
            )
            replicas[(i + turn + 1) % 2].client.review.Submit(submit, metadata=auth(who), timeout=30)

    with ThreadPoolExecutor(REVIEWERS) as pool:
        list(pool.map(reviewer, range(REVIEWERS)))
    return claimed


class TestTwoReplicas:
    def test_concurrent_deciders_and_reviewers_keep_one_consistent_log(self, cluster: Cluster) -> None:
        """Decides and reviews spread over two replicas: no double claim, no loss, one verified chain."""
        deciding = threading.Event()
        deciding.set()
        with ThreadPoolExecutor(1) as pool:
            reviewing = pool.submit(run_reviewers, cluster.replicas, deciding)
            try:
                acknowledged = run_decides(cluster.replicas)
            finally:
                deciding.clear()
            claimed = reviewing.result(timeout=120)

        held = {d.decision_id for d in acknowledged if d.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW}
        engine = make_engine(cluster.owner_url)
        try:
            with engine.connect() as conn:
                events = list(AuditLog().iter_events(conn))
        finally:
            engine.dispose()
        kinds = Counter((e.decision_id, e.type) for e in events)
        claims_per_task = Counter(e.body["task_id"] for e in events if e.type == "review_claimed")
        verify = cli("audit", "verify", "--db", cluster.owner_url)

        assert len(held) == DECISIONS // 2
        assert len(claimed) == len(set(claimed)) == len(held)  # no task claimed twice, none left
        assert set(claims_per_task.values()) == {1} and set(claims_per_task) == set(claimed)
        for d in acknowledged:  # nothing acknowledged is missing from the log
            assert kinds[(d.decision_id, "decision_received")] == 1
            assert kinds[(d.decision_id, "routed")] == 1
        assert all(kinds[(d, "decision_finalized")] == 1 for d in held)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        assert f"chain ok: {len(events)} events" in verify.stdout


class TestCrossReplicaWakeUps:
    """A sign-off on one replica reaches waiters on the other through LISTEN/NOTIFY.

    Both replicas re-read a watched decision only once an hour (``--watch-poll 3600``), so a
    waiter that sees the sign-off within its deadline was woken by the notification: a poll
    could not have done it. (No timing is asserted: only that it arrives at all.)
    """

    @pytest.mark.serve_flags("--watch-poll", "3600")
    def test_a_watcher_on_one_replica_sees_a_sign_off_on_the_other(self, cluster: Cluster) -> None:
        """WatchDecision on replica A ends with the human decision submitted on replica B."""
        a, b = cluster.replicas
        held = a.client.decisions.Decide(claim_request(confidence=0.8), metadata=auth("caller"), timeout=30).decision
        stream = a.client.decisions.WatchDecision(
            decision_pb2.WatchDecisionRequest(decision_id=held.decision_id), metadata=auth("caller"), timeout=60
        )
        first = next(stream)
        task = b.client.review.ClaimNext(
            review_pb2.ClaimNextRequest(queue="junior"), metadata=auth("alice"), timeout=30
        ).task
        b.client.review.Submit(
            review_pb2.SubmitRequest(task_id=task.task_id, action=decision_pb2.REVIEW_ACTION_APPROVE),
            metadata=auth("alice"),
            timeout=30,
        )

        rest = [r.decision.status for r in stream]

        assert first.decision.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW
        assert rest[-1] == decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    @pytest.mark.serve_flags("--watch-poll", "3600")
    def test_a_waiting_decide_on_one_replica_returns_the_sign_off_on_the_other(self, cluster: Cluster) -> None:
        """Decide with ``wait`` on replica A returns the outcome signed off on replica B."""
        a, b = cluster.replicas
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(
                lambda: (
                    a.client.decisions.Decide(
                        claim_request(confidence=0.8, wait=50), metadata=auth("caller"), timeout=60
                    ).decision
                )
            )
            task = None
            while task is None:  # the held case appears in the queue once its Decide committed
                got = b.client.review.ClaimNext(
                    review_pb2.ClaimNextRequest(queue="junior"), metadata=auth("alice"), timeout=30
                )
                task = got.task if got.HasField("task") else None
                if task is None:
                    time.sleep(0.05)
            b.client.review.Submit(
                review_pb2.SubmitRequest(
                    task_id=task.task_id,
                    action=decision_pb2.REVIEW_ACTION_OVERRIDE,
                    outcome="deny",
                    reason="excluded peril",
                ),
                metadata=auth("alice"),
                timeout=30,
            )
            decided = waiting.result(timeout=60)

        assert decided.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED and decided.final_outcome == "deny"
