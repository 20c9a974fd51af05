"""The principals file's optional ``decision_types`` allow-list: checked entry by entry, with
the file and the entry named, and carried on the Principal (enforced by the Decide use case)."""

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

    def test_valid_list_reaches_the_principal(self):
        """A well-formed list becomes the principal's allow-list."""
        [(_, principal)] = parse_principals({"principals": [_entry(decision_types=["claims.payout"])]}, "p.yaml")
        assert principal.decision_types == {"claims.payout"}
        assert principal.may_request("claims.payout") and not principal.may_request("content.moderation")

    def test_entry_without_a_list(self):
        """An entry without ``decision_types`` loads as before."""
        [(digest, principal)] = parse_principals({"principals": [_entry()]}, "p.yaml")
        assert digest == DIGEST and principal.roles == {"caller"} and principal.decision_types is None


class TestAllowListEndToEnd:
    """A principal limited to one decision type is refused another, through a real gateway."""

    def test_other_type_is_permission_denied(self, tmp_path: Path, policy_dir: Path):
        """claims-only Decide for claims.payout succeeds; the same principal limited to
        content.moderation is PERMISSION_DENIED for claims.payout."""
        import grpc

        from gateway.bootstrap import Settings, build_app, configure_logging
        from gateway.rpc.auth import token_hash
        from tests.conftest import Client
        from tests.gateway.helpers import claim_request

        path = tmp_path / "principals.yaml"
        path.write_text(
            "principals:\n"
            f"  - {{name: claims-only, token_sha256: {token_hash('t-claims')}, roles: [caller], decision_types: [claims.payout]}}\n"
            f"  - {{name: moderation-only, token_sha256: {token_hash('t-mod')}, roles: [caller], decision_types: [content.moderation]}}\n"
        )
        configure_logging("warning")
        app = build_app(
            Settings(
                address="127.0.0.1:0",
                database_url=f"sqlite:///{tmp_path / 's.db'}",
                policy_dir=policy_dir,
                principals_file=path,
            )
        )
        try:
            with grpc.insecure_channel(f"127.0.0.1:{app.port}") as channel:
                client = Client(channel, "")
                ok = client.decisions.Decide(
                    claim_request(), metadata=(("authorization", "Bearer t-claims"),), timeout=30
                )
                assert ok.decision.decision_id
                with pytest.raises(grpc.RpcError) as err:
                    client.decisions.Decide(claim_request(), metadata=(("authorization", "Bearer t-mod"),), timeout=30)
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        finally:
            app.stop()
