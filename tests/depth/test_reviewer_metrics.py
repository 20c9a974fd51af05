"""The reviewer gauges: exported from the stats source, cached between refreshes, silent when it fails."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from audit.reviewers import Review, reviewer_stats
from gateway.rpc.reviewer_metrics import ReviewerCollector

STAMPED = [Review("sam", "q", "x", "x", 0.8, 1.0)] * 20


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def scrape(collector: ReviewerCollector) -> str:
    """One scrape of a registry holding only ``collector``."""
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


class TestReviewerCollector:
    """ReviewerCollector."""

    def test_flags_and_rates_are_exported(self):
        """A stamper's approval rate, median time and fast_approver flag are gauges."""
        text = scrape(ReviewerCollector(lambda: reviewer_stats(STAMPED)))
        assert 'signoff_reviewer_approval_rate{reviewer="sam"} 1.0' in text
        assert 'signoff_reviewer_median_claim_to_submit_seconds{reviewer="sam"} 1.0' in text
        assert 'signoff_reviewer_flagged{flag="fast_approver",reviewer="sam"} 1.0' in text
        assert 'signoff_reviewer_flagged{flag="anchored",reviewer="sam"} 0.0' in text

    def test_source_is_read_once_per_refresh(self):
        """Scrapes within the refresh interval reuse the last result; after it, the source is read again."""
        calls, clock = [], Clock()
        collector = ReviewerCollector(lambda: calls.append(1) or reviewer_stats(STAMPED), 60.0, clock)
        registry = CollectorRegistry()
        registry.register(collector)
        assert calls == []  # registering reads nothing
        generate_latest(registry)
        clock.t = 59.0
        generate_latest(registry)
        assert len(calls) == 1
        clock.t = 61.0
        generate_latest(registry)
        assert len(calls) == 2

    def test_failing_source_exports_nothing(self):
        """A store that cannot be read gives empty gauges, not a failed scrape."""

        def broken():
            raise RuntimeError("database is down")

        assert "signoff_reviewer_reviews{" not in scrape(ReviewerCollector(broken))
