"""Issue 10, item 7: a deleted policy file keeps its last good version deciding, health and
metrics show it, and only a tombstone (or a restart) removes the decision type."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.registry import PolicyRegistry
from signoff.v1 import decision_pb2
from tests.conftest import Client, eventually, start_app
from tests.gateway.helpers import claim_request, decide

SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.fixture
def app(db_url: str, policy_dir: Path) -> Iterator[Any]:
    """A gateway with metrics on a port, reloading every 0.2 s."""
    app = start_app(db_url, policy_dir, sweep_seconds=5.0, metrics_port=0)
    yield app
    app.stop()


@pytest.fixture
def stubs(app: Any) -> Iterator[Client]:
    """Stubs on ``app``."""
    with grpc.insecure_channel(f"127.0.0.1:{app.port}") as channel:
        yield Client(channel, "")


def _health(client: Client) -> int:
    stub = health_pb2_grpc.HealthStub(client.channel)
    return stub.Check(health_pb2.HealthCheckRequest(service="signoff.policies"), timeout=5).status


def _scrape(app: Any) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{app.metrics_port}/metrics", timeout=5).read().decode()


MISSING = 'signoff_policy_file_missing{decision_type="claims.payout",file="'


class TestDeletedPolicyFile:
    """Deleting a file is not a removal."""

    def test_last_good_version_keeps_deciding(self, app, stubs, policy_dir):
        """After the delete, Decide still routes with the same policy version."""
        before = decide(stubs, claim_request())
        (policy_dir / "claims-triage.yaml").unlink()
        assert eventually(lambda: _health(stubs) == NOT_SERVING)
        after = decide(stubs, claim_request())
        assert after.status == decision_pb2.DECISION_STATUS_AUTO_DECIDED
        assert (after.policy.name, after.policy.version, after.policy.digest) == (
            before.policy.name,
            before.policy.version,
            before.policy.digest,
        )

    def test_health_and_metrics_show_the_missing_file(self, app, stubs, policy_dir):
        """NOT_SERVING under signoff.policies, a missing-file sample, and one more reload error."""
        assert MISSING not in _scrape(app)
        (policy_dir / "claims-triage.yaml").unlink()
        assert eventually(lambda: _health(stubs) == NOT_SERVING)
        text = _scrape(app)
        assert MISSING + f'{policy_dir / "claims-triage.yaml"}"}} 1.0' in text
        assert "signoff_policy_reload_errors_total 1.0" in text
        assert "claims.payout.removed" in app.registry.last_error

    def test_restored_file_clears_it(self, app, stubs, policy_dir):
        """Putting the file back makes health SERVING and the sample disappears."""
        path = policy_dir / "claims-triage.yaml"
        text = path.read_text()
        path.unlink()
        assert eventually(lambda: _health(stubs) == NOT_SERVING)
        path.write_text(text)
        assert eventually(lambda: _health(stubs) == SERVING)
        assert MISSING not in _scrape(app)


class TestTombstone:
    """A ``<decision type>.removed`` file removes the type explicitly."""

    def test_tombstone_removes_the_type(self, app, stubs, policy_dir):
        """With the file gone and a tombstone, Decide says no policy decides, and health is SERVING."""
        (policy_dir / "claims-triage.yaml").unlink()
        assert eventually(lambda: _health(stubs) == NOT_SERVING)
        (policy_dir / "claims.payout.removed").write_text("retired with the 2026 claims process\n")
        assert eventually(lambda: _health(stubs) == SERVING)
        with pytest.raises(grpc.RpcError) as err:
            decide(stubs, claim_request())
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "no policy decides" in err.value.details()
        assert MISSING not in _scrape(app)

    def test_file_wins_over_its_tombstone(self, app, stubs, policy_dir):
        """A tombstone beside a present file removes nothing."""
        (policy_dir / "claims.payout.removed").write_text("")
        assert eventually(lambda: any(name == "claims.payout.removed" for name, *_ in app.registry._fingerprint))
        assert decide(stubs, claim_request()).status == decision_pb2.DECISION_STATUS_AUTO_DECIDED


class TestRegistryAtStartUp:
    """A restart takes the directory as it is."""

    def test_start_without_the_file(self, policy_dir):
        """A registry loaded from a directory without the file does not know the type."""
        (policy_dir / "claims-triage.yaml").unlink()
        registry = PolicyRegistry(policy_dir, lambda ps: len(ps))
        registry.load()
        assert registry.get("claims.payout") is None and registry.missing == {}
