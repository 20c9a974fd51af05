"""Waiting without threads: a thousand concurrent watchers on one gateway, all woken by sign-offs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from signoff.v1 import decision_pb2, decision_pb2_grpc
from tests.conftest import auth, start_app
from tests.gateway.helpers import claim, claim_request, decide, submit

WATCHERS = 1000
DECISIONS = 50  # twenty watchers on each held decision


class TestThousandWatchers:
    @pytest.fixture
    def gateway(self, db_url: str, policy_dir: Path) -> Iterator[object]:
        """The gateway with the re-read fallback set to an hour: only the sign-offs' commit
        notifications can wake the watchers in time (and a thousand watchers re-reading every
        second would be a thousand reads a second beside the test)."""
        app = start_app(db_url, policy_dir, watch_poll=3600.0)
        yield app
        app.stop()  # type: ignore[attr-defined]

    def test_a_thousand_watchers_wait_on_the_loop_and_all_see_the_sign_off(self, gateway, client) -> None:  # type: ignore[no-untyped-def]
        """1,000 WatchDecision streams (far more than the server's 64 pool threads) are all
        served at once, and each ends with the human decision once its case is signed off."""
        held = [decide(client, claim_request(confidence=0.8)) for _ in range(DECISIONS)]
        assert {d.status for d in held} == {decision_pb2.DECISION_STATUS_PENDING_REVIEW}
        address = client.address

        async def main() -> list[list[int]]:
            async with grpc.aio.insecure_channel(address) as channel:
                stub = decision_pb2_grpc.DecisionServiceStub(channel)
                seen: list[list[int]] = [[] for _ in range(WATCHERS)]
                first = [asyncio.Event() for _ in range(WATCHERS)]

                async def watch(i: int) -> None:
                    req = decision_pb2.WatchDecisionRequest(decision_id=held[i % DECISIONS].decision_id)
                    async for r in stub.WatchDecision(req, metadata=auth("caller"), timeout=120):
                        seen[i].append(r.decision.status)
                        first[i].set()

                tasks = [asyncio.create_task(watch(i)) for i in range(WATCHERS)]
                await asyncio.wait_for(asyncio.gather(*(e.wait() for e in first)), 60)
                # Every watcher holds an open stream now; sign every case off meanwhile.
                await asyncio.to_thread(_sign_off_all, client, DECISIONS)
                await asyncio.wait_for(asyncio.gather(*tasks), 90)
                return seen

        seen = asyncio.run(main())

        assert all(s[0] == decision_pb2.DECISION_STATUS_PENDING_REVIEW for s in seen)
        assert all(s[-1] == decision_pb2.DECISION_STATUS_HUMAN_DECIDED for s in seen)
        assert gateway.service.notifier.watched == 0  # every listener was closed


def _sign_off_all(client, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        got = claim(client, "junior", "alice")
        assert got.HasField("task")
        submit(client, got.task.task_id, "alice", "approve")
