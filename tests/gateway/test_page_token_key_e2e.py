"""Page tokens and the deployment's key: with SIGNOFF_PAGE_TOKEN_KEY set they survive a
restart; without it they die with the process; a short key is refused at start."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from gateway.bootstrap import Settings, build_app, configure_logging
from gateway.errors import InvalidRequest
from signoff.v1 import audit_pb2
from tests.conftest import ROOT, Client, auth
from tests.gateway.helpers import claim_request

KEY = "0123456789abcdef0123456789abcdef"


def _settings(db_url: str, policy_dir: Path, key: str | None) -> Settings:
    return Settings(
        address="127.0.0.1:0",
        database_url=db_url,
        policy_dir=policy_dir,
        principals_file=ROOT / "config" / "dev-principals.yaml",
        page_token_key=key,
    )


def _first_token(db_url: str, policy_dir: Path, key: str | None) -> str:
    """Start a gateway, decide three times, return the first ListEvents page's token; stop it."""
    app = build_app(_settings(db_url, policy_dir, key))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            c = Client(ch, "")
            for _ in range(3):
                c.decisions.Decide(claim_request(), metadata=auth("caller"), timeout=30)
            return c.audit.ListEvents(
                audit_pb2.ListEventsRequest(page_size=1), metadata=auth("carol"), timeout=30
            ).next_page_token
    finally:
        app.stop()


def _next_page(db_url: str, policy_dir: Path, key: str | None, token: str) -> audit_pb2.ListEventsResponse:
    app = build_app(_settings(db_url, policy_dir, key))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{app.port}") as ch:
            req = audit_pb2.ListEventsRequest(page_size=1, page_token=token)
            return Client(ch, "").audit.ListEvents(req, metadata=auth("carol"), timeout=30)
    finally:
        app.stop()


class TestPageTokenKey:
    """Where the key comes from decides how long a token lives."""

    def test_configured_key_survives_a_restart(self, db_url, policy_dir):
        """A token from one process pages on in the next when both have the key."""
        configure_logging("warning")
        token = _first_token(db_url, policy_dir, KEY)
        assert _next_page(db_url, policy_dir, KEY, token).events[0].seq == 2

    def test_without_a_key_tokens_die_at_restart(self, db_url, policy_dir):
        """Without a configured key the next process refuses the token (INVALID_ARGUMENT)."""
        configure_logging("warning")
        token = _first_token(db_url, policy_dir, None)
        with pytest.raises(grpc.RpcError) as err:
            _next_page(db_url, policy_dir, None, token)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details() == "page_token: is not a page token this gateway issued"

    def test_short_key_is_refused(self, db_url, policy_dir):
        """A key under 32 characters stops the start with one line naming the variable."""
        with pytest.raises(InvalidRequest) as err:
            build_app(_settings(db_url, policy_dir, "short"))
        assert str(err.value) == "SIGNOFF_PAGE_TOKEN_KEY: must be at least 32 characters"
