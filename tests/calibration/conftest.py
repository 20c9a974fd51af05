"""Both storage backends for the calibration tests: a real SQLite file and, when set, a PostgreSQL schema."""

from tests.adapters.conftest import db_url

__all__ = ["db_url"]
