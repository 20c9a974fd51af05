"""Engines, connection failures and migrations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, text

from audit import metadata as audit_metadata
from gateway.adapters import (
    current_revision,
    describe_url,
    head_revision,
    make_engine,
    upgrade,
)
from gateway.adapters.tables import metadata as gateway_metadata
from gateway.errors import StoreUnavailable


def _both() -> MetaData:
    """One MetaData holding the audit and gateway tables, as the migration creates them."""
    combined = MetaData(naming_convention=dict(audit_metadata.naming_convention))
    for table in (*audit_metadata.tables.values(), *gateway_metadata.tables.values()):
        table.to_metadata(combined)
    return combined


def _declared_for(dialect: str) -> Callable[..., bool]:
    """An ``include_object`` hook skipping what the tables declare for other backends only.

    (``UNIQUE(prev_hash)`` is declared with ``ddl_if(dialect="postgresql")``; neither Alembic's
    comparison nor ``Table.to_metadata`` carries ``ddl_if``, so it is read off the originals.)
    """
    elsewhere = {
        item.name
        for table in (*audit_metadata.tables.values(), *gateway_metadata.tables.values())
        for item in (*table.constraints, *table.indexes)
        if (only := getattr(item, "_ddl_if", None)) is not None and only.dialect not in (None, dialect)
    }

    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return reflected or name not in elsewhere

    return include


class TestSqliteEngine:
    @pytest.fixture
    def sqlite(self, tmp_path: Path) -> Engine:
        """An engine on a new SQLite file."""
        return make_engine(f"sqlite:///{tmp_path / 'x.db'}")

    @pytest.mark.parametrize(
        ("pragma", "expected"),
        [("journal_mode", "wal"), ("synchronous", 2), ("foreign_keys", 1), ("busy_timeout", 30000)],
    )
    def test_pragmas(self, sqlite: Engine, pragma: str, expected: object) -> None:
        """Every connection runs in WAL mode with full sync, foreign keys and a busy timeout."""
        with sqlite.connect() as conn:
            assert conn.exec_driver_sql(f"PRAGMA {pragma}").scalar() == expected

    def test_savepoints_roll_back_alone(self, sqlite: Engine) -> None:
        """A rolled-back savepoint undoes only its own writes (the pysqlite fix works)."""
        with sqlite.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            nested = conn.begin_nested()
            conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            nested.rollback()

        with sqlite.connect() as conn:
            assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]

    def test_refuses_in_memory_databases(self) -> None:
        """An in-memory database cannot be shared by writer and readers, so it is refused."""
        with pytest.raises(ValueError, match="SQLite file"):
            make_engine("sqlite://")

    def test_missing_directory_is_unavailable(self, tmp_path: Path) -> None:
        """A database file that cannot be opened raises StoreUnavailable naming it."""
        with pytest.raises(StoreUnavailable, match="nowhere"):
            make_engine(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}")


class TestUnreachable:
    def test_message_is_one_line_without_password(self) -> None:
        """An unreachable server gives one line naming the URL, the password masked."""
        with pytest.raises(StoreUnavailable) as caught:
            make_engine("postgresql+psycopg://gw:s3cret@127.0.0.1:1/signoff?connect_timeout=2")

        message = str(caught.value)
        assert "127.0.0.1:1/signoff" in message
        assert "s3cret" not in message and "\n" not in message

    def test_describe_url_masks_the_password(self) -> None:
        """URLs shown to people never carry the password."""
        assert "s3cret" not in describe_url("postgresql+psycopg://gw:s3cret@db/signoff")


class TestMigrations:
    def test_upgrade_reaches_head(self, engine: Engine) -> None:
        """After upgrade the database is at the newest shipped revision."""
        assert current_revision(engine) == head_revision() == "0010_gold"

    def test_upgrade_is_idempotent(self, engine: Engine) -> None:
        """Upgrading a database already at head changes nothing and does not fail."""
        upgrade(engine)

        assert current_revision(engine) == head_revision()

    def test_replicas_migrating_at_once_take_turns(self, db_url: str) -> None:
        """Several processes upgrading one fresh database together all succeed."""
        engines = [make_engine(db_url) for _ in range(3)]
        errors: list[BaseException] = []

        def run(e: Engine) -> None:
            try:
                upgrade(e)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for e in engines:
            e.dispose()

        assert errors == []

    def test_schema_matches_the_table_definitions(self, engine: Engine) -> None:
        """The migrated schema is exactly what the audit and gateway tables declare for it."""
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _declared_for(engine.dialect.name)})
            diff = compare_metadata(context, _both())

        assert diff == []

    def test_creates_the_append_only_triggers(self, engine: Engine) -> None:
        """The migration installs triggers on audit_events."""
        sql = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
            if engine.dialect.name == "sqlite"
            else "SELECT count(*) FROM information_schema.triggers "
            "WHERE event_object_table = 'audit_events' AND trigger_schema = current_schema()"
        )
        with engine.connect() as conn:
            assert conn.execute(text(sql)).scalar() >= 2
