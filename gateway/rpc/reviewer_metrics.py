"""Prometheus gauges of reviewer engagement, recomputed from the audit log at most once a minute.

The figures come from every ``review_claimed``/``review_submitted`` event, so computing them on
each scrape would cost a log scan per scrape; the collector keeps the last result for
``refresh_seconds`` and recomputes on the first scrape after that. A failed read exports nothing
rather than failing the scrape.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ReviewerCollector"]

ReviewerSource = Callable[[], Sequence[Any]]
"""Returns ``audit.reviewers.ReviewerStats`` rows (one per reviewer, every queue together)."""

_FLAGS = ("fast_approver", "accepts_wrong_gold", "anchored", "under_overrides")


class ReviewerCollector(Collector):
    """``signoff_reviewer_*`` gauges: reviews, approval rate, median claim-to-submit time, flags."""

    def __init__(
        self, source: ReviewerSource, refresh_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._rows: Sequence[Any] = ()
        self._at: float | None = None

    def _current(self) -> Sequence[Any]:
        with self._lock:
            now = self.monotonic()
            if self._at is None or now - self._at >= self.refresh_seconds:
                try:
                    self._rows = list(self.source())
                except Exception:  # noqa: BLE001 - a scrape must not fail because the store is down
                    self._rows = ()
                self._at = now
            return self._rows

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """The families without reading the log (so registering costs nothing)."""
        return self._families([])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges from the last result, refreshed when it is older than ``refresh_seconds``."""
        return self._families(self._current())

    def _families(self, rows: Sequence[Any]) -> Iterator[GaugeMetricFamily]:
        reviews = GaugeMetricFamily(
            "signoff_reviewer_reviews", "Sign-offs by reviewer (gold excluded)", labels=["reviewer"]
        )
        approval = GaugeMetricFamily(
            "signoff_reviewer_approval_rate",
            "Share of a reviewer's sign-offs that let the proposal stand",
            labels=["reviewer"],
        )
        median = GaugeMetricFamily(
            "signoff_reviewer_median_claim_to_submit_seconds",
            "Median time from claim to submit, by reviewer",
            labels=["reviewer"],
        )
        flagged = GaugeMetricFamily(
            "signoff_reviewer_flagged",
            "1 when a rubber-stamp rule flags the reviewer (rules in the README)",
            labels=["reviewer", "flag"],
        )
        for row in rows:
            reviews.add_metric([row.reviewer], row.reviews)
            if row.approval_rate is not None:
                approval.add_metric([row.reviewer], row.approval_rate)
            if row.median_seconds is not None:
                median.add_metric([row.reviewer], row.median_seconds)
            for flag in _FLAGS:
                flagged.add_metric([row.reviewer, flag], 1.0 if flag in row.flags else 0.0)
        yield reviews
        yield approval
        yield median
        yield flagged
