"""What a new user reads first stays true: the PostgreSQL skip reason and the development principals."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import NO_POSTGRES, ROOT

PRINCIPALS = ROOT / "config" / "dev-principals.yaml"
OLD_WORDING = "no PostgreSQL on this machine"


def comment_table() -> dict[str, tuple[list[str], str]]:
    """The principals' comment table: name -> (roles, description)."""
    rows = {}
    for line in PRINCIPALS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#\s+(\S+)\s+(dev-\S+-token)\s+(\S+)\s+(.+)$", line)
        if match:
            rows[match[1]] = (match[3].split(","), match[4])
    return rows


class TestPostgresSkipReason:
    """A skipped PostgreSQL test says that the variable is unset, not that the machine lacks a server."""

    def test_reason_names_the_unset_variable(self):
        """The reason names SIGNOFF_TEST_POSTGRES_URL, says it is unset, and shows a URL to set."""
        assert NO_POSTGRES.startswith("SIGNOFF_TEST_POSTGRES_URL is unset")
        assert "postgresql+psycopg://" in NO_POSTGRES

    def test_no_test_claims_a_missing_server(self):
        """No test module carries the old wording that blamed the machine."""
        stale = [
            str(path.relative_to(ROOT))
            for path in (ROOT / "tests").rglob("*.py")
            if path != Path(__file__) and OLD_WORDING in path.read_text(encoding="utf-8")
        ]
        assert stale == []


class TestDevPrincipalsComment:
    """The comment table of config/dev-principals.yaml agrees with the principals it describes."""

    def test_every_principal_is_listed_with_its_roles(self):
        """Each principal appears in the comment with exactly the roles the file gives it."""
        principals = yaml.safe_load(PRINCIPALS.read_text(encoding="utf-8"))["principals"]
        table = comment_table()
        assert {p["name"]: p["roles"] for p in principals} == {n: roles for n, (roles, _) in table.items()}

    def test_only_auditors_are_said_to_audit(self):
        """A description saying a principal audits belongs to a principal with the auditor role."""
        claims = {name for name, (_roles, text) in comment_table().items() if re.search(r"\baudits\b", text)}
        auditors = {name for name, (roles, _text) in comment_table().items() if "auditor" in roles}
        assert claims <= auditors
