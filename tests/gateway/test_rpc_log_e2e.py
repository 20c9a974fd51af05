"""Issue 9, step 7: at the default log level every completed RPC logs one JSON line (method,
code, duration, principal, request id, and the decision id where bound)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from signoff.v1 import decision_pb2
from tests.conftest import ROOT, Client, auth, spawn_serve
from tests.gateway.helpers import claim_request


@pytest.fixture
def served(tmp_path: Path, policy_dir: Path) -> Iterator[tuple[Client, Path]]:
    """``signoff serve`` with no log level given (SIGNOFF_LOG_LEVEL unset), stderr to a file."""
    log_path = tmp_path / "gateway.log"
    env = {k: v for k, v in os.environ.items() if k != "SIGNOFF_LOG_LEVEL"}
    with log_path.open("w") as log:
        proc, address = spawn_serve(
            f"sqlite:///{tmp_path / 'signoff.db'}", policy_dir, log_level=None, stderr=log, env=env
        )
        try:
            with grpc.insecure_channel(address) as channel:
                yield Client(channel, ""), log_path
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _rpc_lines(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{")]
    return [x for x in lines if x.get("event") == "rpc"]


class TestOneLinePerRpc:
    """The default level logs every completed call once."""

    def test_decide_and_refusal(self, served):
        """A Decide logs OK with its decision id; a refused GetDecision logs its code and detail."""
        client, log_path = served
        decision = client.decisions.Decide(
            claim_request(), metadata=(*auth("caller"), ("x-request-id", "req-log-1")), timeout=30
        ).decision
        with pytest.raises(grpc.RpcError):
            client.decisions.GetDecision(
                decision_pb2.GetDecisionRequest(decision_id="nope"),
                metadata=(*auth("caller"), ("x-request-id", "req-log-2")),
                timeout=30,
            )
        client.channel.close()
        served_lines: list[dict[str, Any]] = []
        for _ in range(50):  # the process writes each line as the call ends; read until both are there
            served_lines = _rpc_lines(log_path)
            if len(served_lines) >= 2:
                break
            time.sleep(0.1)
        by_id = {x["request_id"]: x for x in served_lines}
        ok, refused = by_id["req-log-1"], by_id["req-log-2"]
        assert ok["method"] == "/signoff.v1.DecisionService/Decide" and ok["code"] == "OK"
        assert ok["principal"] == "claims-service" and ok["decision_id"] == decision.decision_id
        assert ok["level"] == "info" and isinstance(ok["duration_ms"], float)
        assert refused["code"] == "NOT_FOUND" and "nope" in refused["detail"]
        assert len([x for x in served_lines if x["request_id"] == "req-log-1"]) == 1

    def test_unknown_level_is_refused(self):
        """``--log-level loud`` is refused in one line with a non-zero exit, not a silent default."""
        out = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "serve", "--log-level", "loud"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert out.returncode != 0 and "invalid choice: 'loud'" in out.stderr
