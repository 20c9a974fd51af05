"""A binding's call policy around its backend: deadline, retries with backoff, circuit breaker, metrics.

The effective deadline is the binding's, cut to what remains of the caller's. Only retryable
failures (timeout, connection, 5xx) are retried, and only while time remains. After
``breaker_failures`` consecutive failures the breaker opens for ``breaker_reset_s``: calls fail at
once with ``breaker_open`` (to review), then one trial call is let through (half-open).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from gateway.adapters.models.backends import Backend
from gateway.review.model_port import RETRYABLE, ModelFailure, ModelProposal

__all__ = ["Breaker", "ModelCaller", "ModelMetrics"]

log = structlog.get_logger("signoff.models")

_STATE = {"closed": 0, "half_open": 1, "open": 2}


class ModelMetrics:
    """Model latency, errors by binding and kind, and breaker state, on the gateway's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "signoff_model_latency_seconds",
            "Model call latency by binding",
            ["binding"],
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.errors = Counter(
            "signoff_model_errors", "Failed model calls by binding and kind", ["binding", "kind"], registry=registry
        )
        self.breaker = Gauge(
            "signoff_model_breaker_state", "0 closed, 1 half-open, 2 open", ["binding"], registry=registry
        )
        self.reload_errors = Counter(
            "signoff_model_bindings_reload_errors", "Model bindings file reloads refused", registry=registry
        )


class Breaker:
    """Consecutive-failure circuit breaker; ``clock`` is injectable so tests need no sleeps."""

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.reset_s, self.clock = failures, reset_s, clock
        self.count, self.opened_at = 0, None  # type: int, float | None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_s else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def success(self) -> None:
        self.count, self.opened_at = 0, None

    def failure(self) -> None:
        self.count += 1
        if self.count >= self.limit or self.state == "half_open":
            self.opened_at = self.clock()


class ModelCaller:
    """A ``ModelBackend``: one binding's backend behind its deadline, retries and breaker."""

    def __init__(
        self, backend: Backend, metrics: ModelMetrics | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backend, self.metrics, self.clock = backend, metrics, clock
        self.binding = backend.binding
        self.name = self.binding.name
        self.breaker = Breaker(self.binding.breaker_failures, self.binding.breaker_reset_s, clock)

    def _state(self) -> None:
        if self.metrics:
            self.metrics.breaker.labels(self.name).set(_STATE[self.breaker.state])

    def _fail(self, exc: ModelFailure) -> ModelFailure:
        if self.metrics:
            self.metrics.errors.labels(self.name, exc.kind).inc()
        log.warning("model_call_failed", binding=self.name, kind=exc.kind, detail=exc.detail)
        return exc

    async def propose(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        """The proposal, or ``ModelFailure`` (never anything else) within ``min(deadline, timeout_s)``."""
        b = self.binding
        end = self.clock() + max(0.0, min(b.deadline_s, timeout_s))
        if not self.breaker.allow():
            self._state()
            raise self._fail(
                ModelFailure(
                    "breaker_open", f"{self.breaker.count} failures in a row; retrying after {b.breaker_reset_s:g}s"
                )
            )
        attempt = 0
        while True:
            attempt += 1
            left = end - self.clock()
            start = time.perf_counter()
            try:
                if left <= 0:
                    raise ModelFailure("timeout", f"deadline of {b.deadline_s:g}s spent before attempt {attempt}")
                try:
                    proposal = await asyncio.wait_for(self.backend.call(input, left), timeout=left)
                except TimeoutError:
                    raise ModelFailure("timeout", f"no reply within {left:.3f}s") from None
                except ModelFailure:
                    raise
                except Exception as exc:  # noqa: BLE001 - anything a backend lets slip is a failed call
                    raise ModelFailure("error", f"{type(exc).__name__}: {str(exc)[:100]}") from None
            except ModelFailure as exc:
                if self.metrics:
                    self.metrics.latency.labels(self.name).observe(time.perf_counter() - start)
                if exc.kind == "input":
                    raise
                retry = exc.kind in RETRYABLE and attempt < b.attempts
                pause = b.backoff_s * 2 ** (attempt - 1)
                if retry and end - self.clock() > pause:
                    self._fail(exc)
                    await asyncio.sleep(pause)
                    continue
                self.breaker.failure()
                self._state()
                raise self._fail(exc) from None
            if self.metrics:
                self.metrics.latency.labels(self.name).observe(time.perf_counter() - start)
            self.breaker.success()
            self._state()
            return proposal
