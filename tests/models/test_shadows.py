"""Shadow models: called beside the primary, logged and never used, cut off at the deadline."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

from gateway.adapters.models.registry import ModelRegistry
from gateway.review.model_port import ModelFailure, ModelProposal
from tests.models.fake_servers import ChatServer

MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  primary:
    backend: python
    address: tests.models.sk_model:claims
    model: claims-lr
    deadline: 200ms
    input: [amount]
    labels: [approve, deny, partial]
    shadows: [challenger]
  challenger:
    backend: openai-chat
    address: {url}
    model: challenger
    deadline: 5s
    input: [amount]
    prompt: "Claim of {{amount}}: {{labels}}?"
    labels: [approve, deny, partial]
"""


def _run(tmp_path: Path, mode: str) -> tuple[ModelProposal, list]:
    with ChatServer({"deny": math.log(0.7), "approve": math.log(0.3)}) as chat:
        chat.mode = mode
        path = tmp_path / "models.yaml"
        path.write_text(MODELS.format(url=chat.url))

        async def go() -> tuple[ModelProposal, list]:
            registry = ModelRegistry(path)
            try:
                return await registry.propose("primary", {"amount": 10}, 5.0)
            finally:
                await registry.aclose()
        return asyncio.run(go())


class TestShadows:
    def test_shadow_logged_not_used(self, tmp_path: Path) -> None:
        """The primary's proposal is returned; the challenger's different answer comes back beside it."""
        primary, shadows = _run(tmp_path, "ok")
        assert primary.outcome == "approve"
        assert [(name, r.outcome) for name, r in shadows] == [("challenger", "deny")]

    def test_slow_shadow_cut_at_primary_deadline(self, tmp_path: Path) -> None:
        """A shadow slower than the primary's deadline is cancelled and logged as a timeout."""
        primary, shadows = _run(tmp_path, "slow")
        assert primary.outcome == "approve"
        (name, result), = shadows
        assert name == "challenger" and isinstance(result, ModelFailure) and result.kind == "timeout"
