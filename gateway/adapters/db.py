"""Engines tuned for durability (SQLite WAL, full sync; pooled PostgreSQL) and migration to head.

SQLite needs the pysqlite transaction fix: the driver's own implicit BEGIN is switched off
(``isolation_level=None``) and SQLAlchemy's ``begin`` event emits ``BEGIN IMMEDIATE`` for
write connections (so writers queue on the database lock at the start, never deadlock on
upgrade) and a plain deferred ``BEGIN`` for readers; SAVEPOINTs then work as documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    URL,
    Connection,
    Engine,
    create_engine,
    event,
    func,
    make_url,
    select,
)
from sqlalchemy.exc import ArgumentError, DBAPIError, ProgrammingError

from gateway.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported where a migration is read or run, not here: a process that only writes
# (the writer process of ``signoff serve``) has no use for it (about 50 ms of imports).

__all__ = [
    "MIGRATIONS",
    "MIGRATION_LOCK_KEY",
    "SQLITE_BUSY_TIMEOUT_MS",
    "WRITE",
    "current_revision",
    "describe_url",
    "head_revision",
    "make_engine",
    "unavailable",
    "upgrade",
]

MIGRATIONS = Path(__file__).with_name("migrations")
"""The Alembic script directory, shipped as package data."""

MIGRATION_LOCK_KEY = 0x5167_6E6F_6666_0002
"""PostgreSQL advisory lock key serializing migrations when several replicas start at once."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock before failing."""

WRITE = {"signoff_write": True}
"""Execution options marking a connection as a writer (``BEGIN IMMEDIATE`` on SQLite)."""


def describe_url(url: str | URL) -> str:
    """The URL as it may appear in messages and logs: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def unavailable(url: str | URL, exc: BaseException) -> StoreUnavailable:
    """A one-line ``StoreUnavailable`` naming the (password-free) URL and the cause."""
    return StoreUnavailable(f"database {describe_url(url)} is unavailable: {_first_line(exc)}")


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        raise ValueError(
            "Signoff needs a SQLite file (sqlite:///path/to/signoff.db), not an in-memory "
            "database: its writer and readers use separate connections"
        )
    connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    connect_args.update(kwargs.pop("connect_args", {}))
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("signoff_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``, checked by connecting once.

    SQLite (a file): WAL, ``synchronous=FULL``, foreign keys, a busy timeout, and the
    transaction fix above. PostgreSQL (``postgresql+psycopg://``): a pooled engine with
    pre-ping. ``kwargs`` go to ``create_engine``. Raises ``StoreUnavailable`` (one line,
    password masked) when the database cannot be reached.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"invalid database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, **kwargs)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, **kwargs)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except DBAPIError as exc:
        engine.dispose()
        raise unavailable(parsed, exc) from exc
    return engine


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest) in one transaction.

    A database already at the newest revision is left alone without any DDL, so a gateway
    connected as the unprivileged application role (``signoff_app``, see migration 0002)
    starts normally. When migrating is needed but the user may not change the schema, the
    error says to migrate as the owner (``signoff migrate --db OWNER_URL``).
    """
    head = head_revision()
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # table rebuilds need it off, outside the transaction (SQLite's procedure)
                _sqlite_pragma(conn, "PRAGMA foreign_keys=OFF")
            try:
                _migrate(conn, engine, head, revision)
            finally:
                if sqlite:
                    _sqlite_pragma(conn, "PRAGMA foreign_keys=ON")
    except DBAPIError as exc:
        raise unavailable(engine.url, exc) from exc


def _sqlite_pragma(conn: Connection, sql: str) -> None:
    """Run a PRAGMA on the driver connection itself, outside any SQLAlchemy transaction."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
    finally:
        cur.close()


def _migrate(conn: Connection, engine: Engine, head: str | None, revision: str) -> None:
    """``upgrade`` inside one write transaction on ``conn``."""
    conn.execution_options(**WRITE)
    with conn.begin():
        if conn.dialect.name == "postgresql":  # replicas starting together take turns
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        from alembic import command
        from alembic.runtime.migration import MigrationContext

        current = MigrationContext.configure(conn).get_current_revision()
        if revision == "head" and current == head:
            return
        try:
            command.upgrade(_config(conn), revision)
        except ProgrammingError as exc:
            if _sqlstate(exc) != "42501":  # insufficient_privilege
                raise
            raise StoreUnavailable(
                f"database {describe_url(engine.url)} is at revision {current or 'none'}, "
                f"this gateway needs {head}, and this user may not migrate it "
                f"({_first_line(exc)}); run `signoff migrate --db OWNER_URL` as the "
                "schema owner"
            ) from None


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", "") or getattr(exc.orig, "pgcode", "") or "")


def head_revision() -> str | None:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
