"""The port for model backends: what a model proposes, and why it could not (always to review).

The application layer asks a ``ModelBackend`` for a proposal; the adapters in
``gateway.adapters.models`` implement it (Open Inference Protocol v2, OpenAI-compatible chat,
in-process Python). Any failure is a ``ModelFailure`` whose ``kind`` is one of ``FAILURE_KINDS``;
the caller routes it to the policy's fail-closed queue with that reason, never to ``auto``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["FAILURE_KINDS", "RETRYABLE", "ModelBackend", "ModelFailure", "ModelProposal"]

FAILURE_KINDS = frozenset(
    {
        "timeout",
        "connection",
        "http_4xx",
        "http_5xx",
        "grpc_client",
        "grpc_server",
        "malformed",
        "confidence",
        "version",
        "breaker_open",
        "input",
        "error",
    }
)
"""Every reason a model call can fail; each is a route to human review."""

RETRYABLE = frozenset({"timeout", "connection", "http_5xx", "grpc_server"})
"""Failures worth another attempt within the deadline (a 4xx or a bad reply will not improve)."""


class ModelFailure(Exception):
    """The model gave no usable proposal; ``kind`` names what happened, ``detail`` says more."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"model_{kind}: {detail}")
        self.kind = kind if kind in FAILURE_KINDS else "error"
        self.detail = detail

    @property
    def reason(self) -> str:
        """The route reason recorded with the decision, e.g. ``model_timeout: after 0.5s``."""
        return f"model_{self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ModelProposal:
    """What a model proposed, and exactly what it said (recorded in the decision's audit event)."""

    binding: str
    outcome: str
    confidence: float
    model_name: str
    model_version: str
    latency_ms: float
    raw: str
    scores: Mapping[str, float] = field(default_factory=dict)
    explanation: str = ""
    request: Mapping[str, Any] = field(default_factory=dict)

    def record(self, raw_limit: int = 4096) -> dict[str, Any]:
        """The audit form: binding, model name and reported version, latency, raw reply (or digest)."""
        raw = self.raw if len(self.raw) <= raw_limit else None
        out: dict[str, Any] = {
            "binding": self.binding,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "latency_ms": round(self.latency_ms, 3),
            "raw_sha256": hashlib.sha256(self.raw.encode("utf-8", "surrogatepass")).hexdigest(),
        }
        if raw is not None:
            out["raw"] = raw
        if self.request:
            out["request"] = dict(self.request)
        return out


class ModelBackend(Protocol):
    """One bound model: asked for a proposal on a decision's input within ``timeout_s`` seconds."""

    name: str

    async def propose(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        """The model's proposal; raises ``ModelFailure`` for every way it can fail."""
        ...
