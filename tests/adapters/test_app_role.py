"""PostgreSQL in production: the unprivileged application role, and the chain's race guard."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, insert, make_url, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from audit import AuditLog, NewEvent
from audit.chain import chain
from audit.schema import audit_events
from audit.verify import STORED_COLUMNS
from gateway.adapters import SqlStore, make_engine, upgrade
from gateway.adapters.db import current_revision, head_revision
from gateway.errors import StoreUnavailable
from tests.adapters.conftest import NO_POSTGRES, POSTGRES_URL
from tests.adapters.test_sql_store_contract import apply, claim, decision, hold, task

pytestmark = [pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)]

APP_ROLE = "signoff_app"


def schema_url(url: str, schema: str, user: str | None = None) -> str:
    """``url`` confined to ``schema`` (search_path), optionally as another user."""
    u = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    if user is not None:
        u = u.set(username=user, password=None)
    return u.render_as_string(hide_password=False)


@dataclass
class Schema:
    """One fresh schema migrated by the owner, with engines for the owner and the app role."""

    name: str
    owner_url: str
    app_url: str
    owner: Engine
    app: Engine


@pytest.fixture
def admin() -> Iterator[Engine]:
    """An autocommit engine on the test database as its owner (the PostgreSQL superuser)."""
    eng = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield eng
    eng.dispose()


def fresh_schema(admin: Engine) -> str:
    """Create an empty schema and return its name."""
    name = f"signoff_role_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    return name


def drop_schema(admin: Engine, name: str) -> None:
    """Drop a schema and everything in it, the app role's grants on it included."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


@pytest.fixture
def schema(admin: Engine) -> Iterator[Schema]:
    """A fresh schema migrated to head as the owner; the app role connects to it too."""
    name = fresh_schema(admin)
    owner_url = schema_url(POSTGRES_URL, name)
    app_url = schema_url(POSTGRES_URL, name, APP_ROLE)
    owner = make_engine(owner_url)
    try:
        upgrade(owner)
        app = make_engine(app_url)
        try:
            yield Schema(name, owner_url, app_url, owner, app)
        finally:
            app.dispose()
    finally:
        owner.dispose()
        drop_schema(admin, name)


class TestAppRole:
    def test_role_is_a_plain_login(self, schema: Schema) -> None:
        """The migration's role may log in and nothing more: no superuser, no role or db creation."""
        with schema.owner.connect() as conn:
            row = conn.execute(
                text("SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r"),
                {"r": APP_ROLE},
            ).one()

        assert tuple(row) == (True, False, False, False)

    def test_upgrade_at_head_needs_no_ddl(self, schema: Schema) -> None:
        """The app role's upgrade() sees the schema at head and changes nothing."""
        upgrade(schema.app)

        assert current_revision(schema.app) == head_revision()

    def test_gateway_store_works_as_the_app_role(self, schema: Schema) -> None:
        """Writes, claims and reads through SqlStore succeed as the app role; the chain verifies."""
        with SqlStore(schema.app) as store:
            for n in range(3):
                apply(store, hold(decision(n), task(n, age=n)))
            claimed = claim(store, "junior", "ana", datetime.now(UTC))
            read = store.read(lambda tx: tx.decision("d-1"))

        assert claimed is not None and read is not None
        assert AuditLog().verify(schema.app).count == 3

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
            "TRUNCATE audit_events",
            "UPDATE policy_versions SET text = ''",
            "DELETE FROM decisions",
            "DROP TABLE audit_events",
        ],
        ids=["update", "delete", "truncate", "update-policy", "delete-decision", "drop"],
    )
    def test_app_role_may_not_alter_history(self, schema: Schema, sql: str) -> None:
        """The app role lacks the privilege: PostgreSQL refuses before any trigger runs."""
        with SqlStore(schema.app) as store:
            apply(store, hold(decision(1)))

        with pytest.raises(DBAPIError) as err, schema.app.begin() as conn:
            conn.execute(text(sql))

        assert "permission denied" in str(err.value.orig) or "must be owner" in str(err.value.orig)
        assert AuditLog().verify(schema.owner).count == 1

    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
            "DELETE FROM audit_events WHERE seq = 1",
            "TRUNCATE audit_events",
        ],
        ids=["update", "delete", "truncate"],
    )
    def test_owner_is_stopped_by_the_triggers(self, schema: Schema, sql: str) -> None:
        """Even the schema owner cannot change the log: the triggers refuse."""
        with SqlStore(schema.owner) as store:
            apply(store, hold(decision(1)))

        with pytest.raises(DBAPIError, match="append-only"), schema.owner.begin() as conn:
            conn.execute(text(sql))

    def test_app_role_cannot_migrate_an_old_schema(self, schema: Schema, admin: Engine) -> None:
        """Connected as the app role to an unmigrated schema, upgrade() says to migrate as owner."""
        bare = fresh_schema(admin)
        try:
            with admin.connect() as conn:
                conn.execute(text(f'GRANT USAGE ON SCHEMA "{bare}" TO {APP_ROLE}'))
            app = make_engine(schema_url(POSTGRES_URL, bare, APP_ROLE))
            try:
                with pytest.raises(StoreUnavailable, match="signoff migrate --db OWNER_URL"):
                    upgrade(app)
            finally:
                app.dispose()
        finally:
            drop_schema(admin, bare)

    def test_migrate_command_reports_the_revision(self, schema: Schema, capsys: pytest.CaptureFixture[str]) -> None:
        """`signoff migrate --check` as the app role reports the schema at head and exits 0."""
        from gateway.cli import main

        assert main(["migrate", "--db", schema.app_url, "--check"]) == 0
        assert f"at revision {head_revision()}" in capsys.readouterr().out


class TestChainRace:
    def test_two_writers_on_one_head_cannot_fork_the_chain(self, schema: Schema) -> None:
        """Two transactions that read the same head and skip the lock: the second insert fails."""
        log = AuditLog()
        new = [NewEvent(type="note", time=datetime.now(UTC), actor="x", body={"n": 1})]
        other = [NewEvent(type="note", time=datetime.now(UTC), actor="y", body={"n": 2})]
        with schema.app.connect() as a, schema.app.connect() as b:
            ta, tb = a.begin(), b.begin()
            head_a, head_b = log.head(a), log.head(b)
            a.execute(insert(audit_events), [_row(e) for e in chain(new, *head_a)])
            ta.commit()
            with pytest.raises(IntegrityError):
                b.execute(insert(audit_events), [_row(e) for e in chain(other, *head_b)])
            tb.rollback()

        report = log.verify(schema.app)
        assert report.ok and report.count == 1


def _row(e: object) -> dict[str, object]:
    """One event as a row dict in the table's column order."""
    return {n: getattr(e, n) for n in STORED_COLUMNS}
