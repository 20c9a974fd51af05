"""``SqlStore.write_async``: the event loop's way to write, with the same answers as ``write``."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, text

from gateway.adapters import SqlStore
from gateway.errors import Conflict, StoreUnavailable
from gateway.review.model import EventDraft
from tests.adapters.test_sql_store_contract import T0, decision


def _event(decision_id: str) -> EventDraft:
    return EventDraft(
        type="decision_received", time=T0, actor="claims-svc", decision_id=decision_id,
        policy_name="claims-triage", policy_version=3, policy_digest="sha256:" + "b" * 64,
        body={"n": decision_id},
    )


def _record(n: int):  # type: ignore[no-untyped-def]
    d = decision(n)

    def op(tx):  # type: ignore[no-untyped-def]
        tx.insert_decision(d)
        tx.append(_event(d.decision_id))
        return d.decision_id

    return op


def test_many_concurrent_async_writes_commit_and_answer_in_order_of_their_ops(store: SqlStore, engine: Engine) -> None:
    async def main() -> list[str]:
        return await asyncio.gather(*(store.write_async(_record(i)) for i in range(200)))

    assert asyncio.run(main()) == [f"d-{i}" for i in range(200)]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 200
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 200
    assert store.committed_batches < 200  # group commit: batches hold several writes


def test_a_failing_op_raises_its_own_error_and_the_rest_of_its_batch_commits(store: SqlStore, engine: Engine) -> None:
    async def main() -> list[object]:
        first = store.write_async(_record(1))
        again = store.write_async(_record(1))  # same decision id: Conflict for this op only
        other = store.write_async(_record(2))
        return await asyncio.gather(first, again, other, return_exceptions=True)

    first, again, other = asyncio.run(main())
    assert first == "d-1" and other == "d-2"
    assert isinstance(again, Conflict)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 2


def test_a_cancelled_waiter_leaves_the_write_durable_and_the_writer_working(store: SqlStore, engine: Engine) -> None:
    async def main() -> str:
        fut = store.write_async(_record(1))
        fut.cancel()  # the caller went away (a cancelled RPC); the write still happens
        await asyncio.sleep(0)
        return await store.write_async(_record(2))

    assert asyncio.run(main()) == "d-2"
    with engine.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT decision_id FROM decisions"))}
    assert ids == {"d-1", "d-2"}


def test_async_and_thread_writes_share_one_writer(store: SqlStore, engine: Engine) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        threaded = [loop.run_in_executor(None, store.write, _record(i)) for i in range(0, 40, 2)]
        awaited = [store.write_async(_record(i)) for i in range(1, 40, 2)]
        return await asyncio.gather(*threaded, *awaited)

    assert sorted(asyncio.run(main())) == sorted(f"d-{i}" for i in range(40))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 40


def test_a_closed_store_refuses_async_writes(engine: Engine) -> None:
    s = SqlStore(engine)
    s.close()

    async def main() -> None:
        await s.write_async(_record(1))

    with pytest.raises(StoreUnavailable):
        asyncio.run(main())
