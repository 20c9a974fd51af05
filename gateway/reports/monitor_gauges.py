"""The drift and audited-error monitors as a collector for the gateway's own ``/metrics``.

Computing a monitor reads a day of decisions, so it never runs on a scrape or on the serving
loop's hot path: a background thread (``bootstrap``, every ``--monitor-seconds``) computes it and
hands the result to this collector, which exports the last result it was given.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.reports.monitoring import GAUGES, ROUTE_SHARE_HELP, gauge_values

__all__ = ["MonitorCollector"]


class MonitorCollector(Collector):
    """``signoff_monitor_*`` gauges from the monitors last computed (none before the first run)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._monitors: Sequence[dict[str, Any]] = ()

    def update(self, monitors: Sequence[dict[str, Any]]) -> None:
        """Replace what is exported with ``monitors`` (one ``build_monitor`` result per decision type)."""
        with self._lock:
            self._monitors = tuple(monitors)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One family per gauge, with a sample per decision type and model (and route)."""
        with self._lock:
            monitors = self._monitors
        families = {
            name: GaugeMetricFamily(f"signoff_monitor_{name}", doc, labels=["decision_type", "model"])
            for name, doc in GAUGES
        }
        families["route_share"] = GaugeMetricFamily(
            "signoff_monitor_route_share", ROUTE_SHARE_HELP, labels=["decision_type", "model", "route"]
        )
        for mon in monitors:
            for name, labels, value in gauge_values(mon):
                families[name].add_metric(list(labels), value)
        yield from families.values()
