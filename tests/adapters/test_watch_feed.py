"""The change feed: one query a turn finds what other processes committed, for every watcher."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from gateway.adapters import SqlStore
from gateway.adapters.watch_feed import ChangeFeed
from gateway.errors import StoreUnavailable
from tests.adapters.test_sql_store_contract import apply, decision, hold, task


class TestChangeFeed:
    def test_a_commit_by_another_store_wakes_the_watchers_of_its_decisions(self, engine: Engine) -> None:
        """Events appended after the feed's last look (here by a second store, as another
        process would) name their decisions, and those are notified once, in one call."""
        heard: list[set[str]] = []
        feed = ChangeFeed(engine, lambda ids: heard.append(set(ids)), lambda: 1)
        with SqlStore(engine) as other:
            apply(other, hold(decision(1), task(1)))
            apply(other, hold(decision(2)))

        assert feed.poll() == {"d-1", "d-2"}
        assert heard == [{"d-1", "d-2"}]
        assert feed.poll() == set()  # nothing new since
        assert heard == [{"d-1", "d-2"}]

    def test_nobody_watching_reads_no_events_and_misses_nothing_later(self, engine: Engine) -> None:
        """While no watcher waits the feed only moves its mark to the head; what is committed
        after a watcher arrives is found."""
        watchers = [0]
        heard: list[set[str]] = []
        feed = ChangeFeed(engine, lambda ids: heard.append(set(ids)), lambda: watchers[0])
        with SqlStore(engine) as other:
            apply(other, hold(decision(1)))
            assert feed.poll() == set()
            watchers[0] = 1
            apply(other, hold(decision(2)))

        assert feed.poll() == {"d-2"}
        assert heard == [{"d-2"}]

    def test_a_feed_started_on_a_long_log_begins_at_its_head(self, engine: Engine) -> None:
        """A gateway that starts on an existing log does not wake anyone for old events."""
        with SqlStore(engine) as other:
            apply(other, hold(decision(1)))
        feed = ChangeFeed(engine, lambda ids: None, lambda: 1)

        assert feed.poll() == set()
        assert feed.last_seq > 0

    def test_a_database_that_does_not_answer_is_store_unavailable(self, engine: Engine) -> None:
        """The feed's loop logs a failed look in one line: the error is ``StoreUnavailable``
        naming the database, not a driver traceback."""
        feed = ChangeFeed(engine, lambda ids: None, lambda: 1)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events RENAME TO audit_events_gone"))

        with pytest.raises(StoreUnavailable, match="is unavailable"):
            feed.poll()
