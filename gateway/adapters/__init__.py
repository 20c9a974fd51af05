"""SQL adapters behind the review ports: engines, migrations and the group-commit store.

``make_engine`` and ``upgrade`` prepare a database; ``SqlStore`` is the ``Store`` port.
"""

from gateway.adapters.db import (
    current_revision,
    describe_url,
    head_revision,
    make_engine,
    upgrade,
)
from gateway.adapters.sql_store import SqlStore

__all__ = [
    "SqlStore",
    "current_revision",
    "describe_url",
    "head_revision",
    "make_engine",
    "upgrade",
]
