"""One authorization table, two doors: the same principals are allowed and refused the same
operations through gRPC and through the console."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from signoff.v1 import audit_pb2, review_pb2
from tests.conftest import auth
from tests.console.helpers import held

PRINCIPALS = ("caller", "alice", "bob", "carol", "erin", "dana")

#: operation -> who may do it (from config/dev-principals.yaml and the shipped policies).
EXPECTED = {
    "list_junior": {"alice", "bob", "erin"},
    "list_senior": {"bob"},
    "list_audit": {"bob", "carol"},
    "query_decisions": {"carol"},
    "explain": {"carol"},
}


def _grpc_allowed(client: Any, op: str, who: str, decision_id: str) -> bool:
    md = auth(who)
    try:
        if op.startswith("list_"):
            client.review.ListTasks(
                review_pb2.ListTasksRequest(queue=op.removeprefix("list_")), metadata=md, timeout=10
            )
        elif op == "query_decisions":
            client.audit.QueryDecisions(audit_pb2.QueryDecisionsRequest(), metadata=md, timeout=10)
        else:
            client.audit.ExplainDecision(
                audit_pb2.ExplainDecisionRequest(decision_id=decision_id), metadata=md, timeout=10
            )
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, exc
        return False
    return True


def _http_allowed(c: Any, op: str, decision_id: str) -> bool:
    url = {"query_decisions": "/audit/decisions?search=1", "explain": f"/audit/decisions/{decision_id}"}.get(
        op, f"/queues/{op.removeprefix('list_')}"
    )
    status = c.get(url).status_code
    assert status in (200, 403), (url, status)
    return status == 200


class TestOneTableTwoDoors:
    """gRPC and HTTP agree, principal by principal, with the expected table."""

    @pytest.mark.parametrize("op", sorted(EXPECTED))
    def test_both_doors_agree(self, op: str, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """For each principal the console allows exactly what gRPC allows, and that is the table."""
        d = held(grpc_client)
        got_grpc = {who for who in PRINCIPALS if _grpc_allowed(grpc_client, op, who, d.decision_id)}
        got_http = {who for who in PRINCIPALS if _http_allowed(http_as(who), op, d.decision_id)}
        assert got_grpc == got_http == EXPECTED[op]
