"""``signoff migrate``: bring a database's schema to this release, as its owner.

Gateways migrate on start-up when they may; in production they connect as the unprivileged
``signoff_app`` role (INSERT and SELECT on the audit log, nothing more), which cannot change
the schema. There an operator runs this once per release with an owner's URL, before the
replicas roll: migration 0002 also creates ``signoff_app`` and grants it its rights.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``migrate`` to the command tree."""
    p = sub.add_parser(
        "migrate",
        help="migrate the database schema (as its owner)",
        description="Migrate the database to this release's schema and grant the "
        "application role signoff_app its rights (PostgreSQL).",
    )
    p.add_argument(
        "--db",
        default=os.environ.get("SIGNOFF_DATABASE_URL", "sqlite:///var/signoff.db"),
        help="database URL of a user that owns the schema (env SIGNOFF_DATABASE_URL)",
    )
    p.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 unless the database is at this release's revision"
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from gateway.adapters.db import (
        current_revision,
        describe_url,
        head_revision,
        make_engine,
        upgrade,
    )

    engine = make_engine(args.db)
    try:
        before = current_revision(engine)
        head = head_revision()
        where = describe_url(args.db)
        if args.check:
            print(f"{where}: at revision {before or 'none'}, this release needs {head}")
            return 0 if before == head else 1
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: migrated from revision {before or 'none'} to {after}")
    return 0
