"""The application role (PostgreSQL) and the indexes behind the decision-log queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

PostgreSQL: creates the role ``signoff_app`` (LOGIN, nothing else) when it is absent and grants
it, in the schema being migrated, exactly what a gateway replica needs: INSERT and SELECT on
``audit_events`` and ``policy_versions`` (never UPDATE, DELETE or TRUNCATE: the log is
append-only by permission as well as by trigger), SELECT, INSERT and UPDATE on ``decisions``
and ``review_tasks``, USAGE on the schema and SELECT on ``alembic_version`` (so a replica can
see that the schema is at head and skip migrating). Creating a role needs CREATEROLE; when the
migrating user lacks it, create the role beforehand. The role gets no password here: set one
with ``ALTER ROLE signoff_app PASSWORD ...`` (or use certificate or peer authentication).
A later migration that creates a table must grant on it too.

Every backend: composite indexes for the decision-log filters, each ending in ``created_at``
so a filtered page is read in its (created_at, decision_id) order. Only three: each index costs
on every Decide and every sign-off.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APP_ROLE = "signoff_app"

_INDEXES = (
    ("ix_decisions_policy_name_policy_version_created_at", ["policy_name", "policy_version", "created_at"]),
    ("ix_decisions_queue_created_at", ["queue", "created_at"]),
    ("ix_decisions_reviewer_created_at", ["reviewer", "created_at"]),
)

_CREATE_ROLE = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{APP_ROLE}') THEN
        BEGIN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE EXCEPTION 'cannot create role {APP_ROLE}: the migrating user lacks CREATEROLE; '
                'create the role first (CREATE ROLE {APP_ROLE} LOGIN) and migrate again';
        WHEN duplicate_object THEN
            NULL;  -- another database of this cluster created it meanwhile
        END;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO {APP_ROLE}', current_schema());
END
$$"""

_GRANTS = (
    f"GRANT SELECT, INSERT ON audit_events TO {APP_ROLE}",
    f"GRANT SELECT, INSERT ON policy_versions TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE ON decisions TO {APP_ROLE}",
    f"GRANT SELECT, INSERT, UPDATE ON review_tasks TO {APP_ROLE}",
    f"GRANT SELECT ON alembic_version TO {APP_ROLE}",
)


def upgrade() -> None:
    for name, columns in _INDEXES:
        op.create_index(name, "decisions", columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE_ROLE)
        for grant in _GRANTS:
            op.execute(grant)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("audit_events", "policy_versions", "decisions", "review_tasks", "alembic_version"):
            op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.execute(f"""DO $$ BEGIN
            EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM {APP_ROLE}', current_schema());
        END $$""")
    for name, _columns in reversed(_INDEXES):
        op.drop_index(name, "decisions")
