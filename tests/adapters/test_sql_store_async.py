"""``SqlStore.apply``: Changes from event loops, group-committed, each answered once durable."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import Engine, text

from gateway.adapters import SqlStore
from gateway.errors import Conflict, StoreUnavailable
from gateway.review.change import Applied, Change
from tests.adapters.test_sql_store_contract import decision, event


def _record(n: int) -> Change:
    d = decision(n)
    return Change(inserts=(d,), events=(event(d),))


def test_many_concurrent_changes_commit_and_answer_in_order(store: SqlStore, engine: Engine) -> None:
    """Two hundred Changes applied at once all commit, their receipts in chain order."""

    async def main() -> list[Applied]:
        return await asyncio.gather(*(store.apply(_record(i)) for i in range(200)))

    applied = asyncio.run(main())

    seqs = [a.receipts[0].seq for a in applied]
    assert seqs == sorted(seqs) and len(set(seqs)) == 200
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 200
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 200
    assert store.committed_batches < 200  # group commit: batches hold several Changes


def test_a_taken_key_fails_its_own_change_and_the_rest_of_its_batch_commits(store: SqlStore, engine: Engine) -> None:
    """A second insert of the same decision id is Conflict for that Change only."""

    async def main() -> list[object]:
        first = store.apply(_record(1))
        again = store.apply(_record(1))  # same decision id: Conflict for this Change only
        other = store.apply(_record(2))
        return await asyncio.gather(first, again, other, return_exceptions=True)

    first, again, other = asyncio.run(main())

    assert isinstance(first, Applied) and isinstance(other, Applied)
    assert isinstance(again, Conflict)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM decisions")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 2


def test_a_cancelled_waiter_leaves_the_change_durable_and_the_writer_working(store: SqlStore, engine: Engine) -> None:
    """A caller that goes away does not undo its Change nor stop the writer."""

    async def main() -> Applied:
        fut = store.apply(_record(1))
        fut.cancel()  # the caller went away (a cancelled RPC); the write still happens
        await asyncio.sleep(0)
        return await store.apply(_record(2))

    assert isinstance(asyncio.run(main()), Applied)
    with engine.connect() as conn:
        ids = {r[0] for r in conn.execute(text("SELECT decision_id FROM decisions"))}
    assert ids == {"d-1", "d-2"}


def test_changes_from_two_event_loops_share_one_writer(store: SqlStore, engine: Engine) -> None:
    """Each loop's callers are answered on their own loop, by the one writer."""
    out: dict[int, list[Applied]] = {}

    def loop_thread(k: int) -> None:
        async def main() -> list[Applied]:
            return await asyncio.gather(*(store.apply(_record(i)) for i in range(k, 40, 2)))

        out[k] = asyncio.run(main())

    threads = [threading.Thread(target=loop_thread, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(out[0]) == len(out[1]) == 20
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 40


def test_a_closed_store_refuses_changes(engine: Engine) -> None:
    """After close, apply raises StoreUnavailable."""
    s = SqlStore(engine)
    s.close()

    async def main() -> None:
        await s.apply(_record(1))

    with pytest.raises(StoreUnavailable):
        asyncio.run(main())
