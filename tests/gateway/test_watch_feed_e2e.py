"""Two gateway processes on one SQLite file: a watcher on one sees a sign-off made through the
other, found by the change feed (one query a turn for all watchers), long before the watcher's
own once-a-minute re-read would."""

from __future__ import annotations

import grpc

from signoff.v1 import decision_pb2
from tests.conftest import Client, auth, spawn_serve
from tests.gateway.helpers import claim, claim_request, decide, submit


def test_a_watcher_on_one_process_sees_a_sign_off_made_through_another(db_url, policy_dir):  # type: ignore[no-untyped-def]
    """WatchDecision on gateway A ends with HUMAN_DECIDED after the case is signed off through
    gateway B on the same database: no notification crosses SQLite processes, so the feed
    (``--watch-poll 0.2``) is what wakes it. The stream's 20 s deadline is far inside the
    watcher's own 60 s backstop re-read, so only the feed can have ended it in time."""
    a, address_a = spawn_serve(db_url, policy_dir, "--watch-poll", "0.2")
    b, address_b = spawn_serve(db_url, policy_dir, "--watch-poll", "0.2")
    try:
        with grpc.insecure_channel(address_a) as ch_a, grpc.insecure_channel(address_b) as ch_b:
            on_a, on_b = Client(ch_a, address_a), Client(ch_b, address_b)
            held = decide(on_a, claim_request(confidence=0.8))
            stream = on_a.decisions.WatchDecision(
                decision_pb2.WatchDecisionRequest(decision_id=held.decision_id), metadata=auth("caller"), timeout=20
            )
            first = next(stream)
            assert first.decision.status == decision_pb2.DECISION_STATUS_PENDING_REVIEW

            task = claim(on_b, "junior", "alice").task
            submit(on_b, task.task_id, "alice", "approve")

            statuses = [r.decision.status for r in stream]
        assert statuses[-1] == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
    finally:
        for proc in (a, b):
            proc.terminate()
            proc.wait(30)
