"""Alembic environment for Signoff: migrates the connection the caller hands in, never a URL.

``gateway.adapters.db.upgrade`` builds the Alembic config in code and puts an open connection
in ``config.attributes["connection"]``; there is no alembic.ini and no logging setup here.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise TypeError(
        "Signoff migrations run through gateway.adapters.db.upgrade(engine), "
        "which passes an open connection in config.attributes['connection']"
    )

context.configure(connection=connection, target_metadata=None, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
