"""The principals file's optional ``decision_types`` allow-list: checked entry by entry, with
the file and the entry named; refused while this build cannot enforce it (fail closed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.bootstrap import load_principals
from gateway.errors import InvalidRequest
from gateway.rpc.auth import decision_types, parse_principals

DIGEST = "a" * 64


def _entry(**extra: object) -> dict[str, object]:
    return {"name": "svc", "token_sha256": DIGEST, "roles": ["caller"], **extra}


class TestDecisionTypes:
    """``decision_types`` parses to a frozenset, or None when absent."""

    def test_absent_is_any(self):
        """No list means any decision type."""
        assert decision_types(None, "f") is None

    def test_list(self):
        """A list of types becomes a frozenset."""
        assert decision_types(["claims.payout", "content.moderation"], "f") == {"claims.payout", "content.moderation"}

    @pytest.mark.parametrize(
        ("value", "where"),
        [([], "f"), ("claims.payout", "f"), ([""], "f[0]"), ([7], "f[0]"), (["a", "a"], "f"), (["x" * 129], "f[0]")],
        ids=["empty", "not-a-list", "blank", "number", "twice", "too-long"],
    )
    def test_bad_lists(self, value, where):
        """Each malformed list is refused naming the entry (and the item)."""
        with pytest.raises(InvalidRequest) as err:
            decision_types(value, "f")
        assert err.value.field == where


class TestPrincipalsFile:
    """The file names itself and the entry when it is refused."""

    def test_bad_list_names_file_and_entry(self, tmp_path: Path):
        """A number in the second entry's list names the file, principals[1] and the item."""
        path = tmp_path / "principals.yaml"
        path.write_text(
            "principals:\n"
            f"  - {{name: a, token_sha256: {'b' * 64}, roles: [caller]}}\n"
            f"  - {{name: svc, token_sha256: {DIGEST}, roles: [caller], decision_types: [7]}}\n"
        )
        with pytest.raises(InvalidRequest) as err:
            load_principals(path)
        assert err.value.field == f"{path}: principals[1].decision_types[0]"

    def test_unknown_key_is_refused(self):
        """A misspelt key (``decision_type``) is refused, not ignored."""
        with pytest.raises(InvalidRequest) as err:
            parse_principals({"principals": [_entry(decision_type=["x"])]}, "p.yaml")
        assert err.value.field == "p.yaml: principals[0].decision_type"

    def test_valid_list_fails_closed_until_enforced(self):
        """A well-formed list is refused while Principal cannot carry it, never silently ignored."""
        with pytest.raises(InvalidRequest) as err:
            parse_principals({"principals": [_entry(decision_types=["claims.payout"])]}, "p.yaml")
        assert err.value.field == "p.yaml: principals[0].decision_types"
        assert "not enforced" in err.value.message

    def test_entry_without_a_list(self):
        """An entry without ``decision_types`` loads as before."""
        [(digest, principal)] = parse_principals({"principals": [_entry()]}, "p.yaml")
        assert digest == DIGEST and principal.roles == {"caller"}
