"""Prometheus metrics of the gateway, on a registry of its own (so tests can make many)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.rpc.reviewer_metrics import ReviewerCollector

__all__ = ["Metrics"]

QueueDepths = Callable[[], tuple[datetime, dict[str, tuple[int, datetime | None]]]]


class _QueueCollector(Collector):
    """Reads queue depth and oldest age from the store at scrape time, not on the hot path."""

    def __init__(self, depths: QueueDepths) -> None:
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("signoff_queue_depth", "Tasks not yet done, by queue", labels=["queue"])
        age = GaugeMetricFamily(
            "signoff_queue_oldest_age_seconds", "Age of the oldest task not done, by queue", labels=["queue"]
        )
        try:
            now, rows = self.depths()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the store is down
            rows, now = {}, None
        for queue, (count, oldest) in sorted(rows.items()):
            depth.add_metric([queue], count)
            age.add_metric([queue], (now - oldest).total_seconds() if now and oldest else 0.0)
        yield depth
        yield age


class _MissingPolicyCollector(Collector):
    """One sample per decision type still deciding from a deleted policy file."""

    def __init__(self, missing: Callable[[], Mapping[str, str]]) -> None:
        self.missing = missing

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "signoff_policy_file_missing",
            "1 per decision type whose policy file was deleted without a tombstone (its last good version decides)",
            labels=["decision_type", "file"],
        )
        for decision, path in sorted(self.missing().items()):
            gauge.add_metric([decision, path], 1)
        yield gauge


class Metrics:
    """Every metric the gateway exports."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "signoff_decisions", "Decisions taken, by decision type and route", ["decision_type", "route"], registry=r
        )
        self.reviews = Counter(
            "signoff_reviews", "Sign-offs submitted, by queue and action", ["queue", "action"], registry=r
        )
        self.decide_latency = Histogram(
            "signoff_decide_latency_seconds",
            "Decide latency, from request to durable answer",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
            registry=r,
        )
        self.reload_errors = Counter("signoff_policy_reload_errors", "Policy reloads refused", registry=r)
        self.rpc_errors = Counter("signoff_rpc_errors", "RPCs that failed, by status code", ["code"], registry=r)
        self.sla_breaches = Counter(
            "signoff_sla_breaches",
            "Tasks whose SLA due time passed undecided, by queue and the timeout action",
            ["queue", "action"],
            registry=r,
        )

    def watch_policies(self, missing: Callable[[], Mapping[str, str]]) -> None:
        """Export the decision types whose policy file is missing, read at scrape time."""
        self.registry.register(_MissingPolicyCollector(missing))

    def watch_reviewers(self, source: Callable[[], Any], refresh_seconds: float = 60.0) -> None:
        """Export per-reviewer engagement gauges, recomputed from the log at most every ``refresh_seconds``."""
        self.registry.register(ReviewerCollector(source, refresh_seconds))

    def watch_queues(self, depths: QueueDepths) -> None:
        """Export queue depth and oldest age, read from the store at scrape time."""
        self.registry.register(_QueueCollector(depths))
