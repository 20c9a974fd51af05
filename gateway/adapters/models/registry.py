"""The loaded model bindings and their callers; reloads keep the last good set (like policies)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from gateway.adapters.models.backends import build_backend
from gateway.adapters.models.bindings import BindingSet, check_policies, load_bindings
from gateway.adapters.models.caller import ModelCaller, ModelMetrics
from gateway.errors import PolicyError
from gateway.policy.model import Issue, Policy
from gateway.review.model_port import ModelFailure, ModelProposal

__all__ = ["ModelRegistry", "ShadowResult"]

log = structlog.get_logger("signoff.models")

ShadowResult = tuple[str, ModelProposal | ModelFailure]


class ModelRegistry:
    """Callers by binding name, built from a bindings file; ``reload`` swaps only a valid file in."""

    def __init__(self, path: str | Path, metrics: ModelMetrics | None = None) -> None:
        self.path, self.metrics = Path(path), metrics
        self.bindings: BindingSet = load_bindings(self.path)
        self.callers: dict[str, ModelCaller] = self._build(self.bindings)
        self._retired: list[ModelCaller] = []
        self.last_shadows: list[ShadowResult] = []
        self._seen = self._fingerprint()

    def _build(self, bindings: BindingSet) -> dict[str, ModelCaller]:
        try:
            return {name: ModelCaller(build_backend(b), self.metrics) for name, b in bindings.bindings.items()}
        except (ValueError, ImportError, AttributeError) as exc:
            raise PolicyError(
                [Issue(bindings.path, None, "$.bindings", "unavailable_backend", str(exc)[:200])]
            ) from None

    def _fingerprint(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def refresh(self, policies: Callable[[], Sequence[Policy]] = tuple) -> list[Issue]:
        """Reload when the file changed on disk (the reload thread calls this, like policies').

        ``policies`` gives the loaded policies: a set that drops or mislabels a binding one of them
        uses is refused like a malformed file, and the last good set stays.
        """
        seen = self._fingerprint()
        if seen == self._seen:
            return []
        self._seen = seen
        return self.reload(policies())

    def reload(self, policies: Sequence[Policy] = ()) -> list[Issue]:
        """Load the file again; on any issue keep the last good set and return the issues."""
        try:
            fresh = load_bindings(self.path)
            issues = check_policies(policies, fresh)
            if issues:
                raise PolicyError(issues)
            callers = self._build(fresh)
        except PolicyError as exc:
            log.warning("model_bindings_refused", path=str(self.path), issues=[str(i) for i in exc.issues])
            if self.metrics is not None:
                self.metrics.reload_errors.inc()
            return exc.issues
        self._retired.extend(self.callers.values())
        self.bindings, self.callers = fresh, callers
        log.info("model_bindings_loaded", path=str(self.path), bindings=sorted(fresh.bindings))
        return []

    async def propose(
        self, name: str, input: Mapping[str, Any], timeout_s: float
    ) -> tuple[ModelProposal, list[ShadowResult]]:
        """The primary's proposal and the shadows' (logged, not used), all within ``timeout_s``.

        Shadows run concurrently with the primary and are cancelled, not awaited, once the
        primary has answered and the deadline has passed: they never delay the answer past it.
        """
        caller = self.callers.get(name)
        if caller is None:
            raise ModelFailure("error", f"binding {name!r} is not loaded")
        shadows = {
            s: asyncio.ensure_future(self.callers[s].propose(input, timeout_s))
            for s in caller.binding.shadows
            if s in self.callers
        }
        loop = asyncio.get_running_loop()
        end = loop.time() + min(caller.binding.deadline_s, timeout_s)
        try:
            primary = await caller.propose(input, timeout_s)
        finally:
            results: list[ShadowResult] = []
            if shadows:
                await asyncio.wait(shadows.values(), timeout=max(0.0, end - loop.time()))
            for s, task in shadows.items():
                if not task.done():
                    task.cancel()
                    results.append((s, ModelFailure("timeout", "shadow did not answer within the deadline")))
                elif isinstance(task.exception(), ModelFailure):
                    results.append((s, task.exception()))  # type: ignore[arg-type]
                elif task.exception() is None:
                    results.append((s, task.result()))
                else:
                    results.append((s, ModelFailure("error", type(task.exception()).__name__)))
            self.last_shadows = results
        return primary, results

    async def aclose(self) -> None:
        """Close every backend's HTTP client, including those of replaced sets."""
        for caller in [*self.callers.values(), *self._retired]:
            await caller.backend.aclose()
