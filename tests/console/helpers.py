"""Small helpers for the console tests: make held decisions over gRPC, read task ids from pages."""

from __future__ import annotations

import re
from typing import Any

from tests.gateway.helpers import claim_request, decide


def held(grpc_client: Any, subject: str = "", explanation: str = "", confidence: float = 0.81, **extra: Any) -> Any:
    """A claims.payout decision held for review (junior at confidence 0.81)."""
    req = claim_request(confidence=confidence, **extra)
    if subject:
        req.subject_ref = subject
    if explanation:
        req.proposal.explanation = explanation
    return decide(grpc_client, req)


def task_id_of(url: str) -> str:
    """The task id in a /tasks/<id> URL."""
    m = re.search(r"/tasks/([0-9a-f-]{36})", url)
    assert m, f"not a task URL: {url}"
    return m.group(1)
