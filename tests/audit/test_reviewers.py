"""Evidence of reviewer engagement: rates, blind and gold figures, override ratio, kappa, flags."""

from __future__ import annotations

import pytest

from audit.reviewers import (
    ALL_QUEUES,
    FlagRules,
    Review,
    band_of,
    review_from_body,
    reviewer_stats,
)
from tests.audit.reviewer_sim import Reviewer, simulate

CAREFUL = [Reviewer("ann"), Reviewer("bob"), Reviewer("cat")]
STAMPER = Reviewer("sam", stamper=True)


def by_name(stats):
    """Stats keyed by reviewer name."""
    return {s.reviewer: s for s in stats}


class TestFigures:
    """The figures for hand-made reviews."""

    def test_rates_times_and_gold(self):
        """Approval, ordinary and blind agreement, median time and gold accuracy count what they say."""
        reviews = [
            Review("ann", "q", "approve", "approve", 0.8, 10.0),
            Review("ann", "q", "approve", "deny", 0.8, 20.0),
            Review("ann", "q", "deny", "deny", 0.8, 30.0, blind=True),
            Review("ann", "q", "approve", "deny", 0.8, 40.0, blind=True),
            Review("ann", "q", "approve", "deny", 0.8, 99.0, gold_expected="deny"),
            Review("ann", "q", "deny", "deny", 0.8, 99.0, gold_expected="deny"),
        ]
        (s,) = reviewer_stats(reviews)
        assert (s.reviewer, s.queue, s.reviews, s.median_seconds) == ("ann", ALL_QUEUES, 4, 25.0)
        assert (s.approval_rate, s.agreement_ordinary, s.agreement_blind, s.blind_reviews) == (0.5, 0.5, 0.5, 2)
        assert (s.gold_reviews, s.gold_accuracy, s.gold_traps, s.gold_traps_accepted, s.gold_trap_accuracy) == (
            2,
            1.0,
            1,
            0,
            1.0,
        )

    def test_gold_never_counts_as_real_review(self):
        """A reviewer with only gold reviews has no approval rate and no override ratio."""
        (s,) = reviewer_stats([Review("ann", "q", "approve", "approve", 0.8, 1.0, gold_expected="deny")])
        assert (s.reviews, s.approval_rate, s.override_ratio.observed, s.gold_traps_accepted) == (0, None, 0, 1)

    def test_by_queue_splits_the_scope(self):
        """by_queue gives one row per reviewer and queue, sorted."""
        reviews = [Review("ann", "b", "x", "x"), Review("ann", "a", "x", "x"), Review("bob", "a", "x", "y")]
        assert [(s.queue, s.reviewer) for s in reviewer_stats(reviews, by_queue=True)] == [
            ("a", "ann"),
            ("a", "bob"),
            ("b", "ann"),
        ]

    def test_override_ratio_uses_peers_on_the_same_band(self):
        """Expected overrides come from the peers' rate in each of the reviewer's bands, not overall."""
        peers = (
            [Review("bob", "q", "x", "y", 0.75)] * 2
            + [Review("bob", "q", "x", "x", 0.75)] * 2
            + [Review("bob", "q", "x", "x", 0.95)] * 4
        )
        mine = [Review("ann", "q", "x", "y", 0.75)] * 4 + [Review("ann", "q", "x", "x", 0.99)] * 4
        ratio = by_name(reviewer_stats(peers + mine))["ann"].override_ratio
        assert (ratio.observed, ratio.expected, ratio.ratio) == (4, 2.0, 2.0)
        assert ratio.lower < 2.0 < ratio.upper

    def test_band_without_peers_is_left_out(self):
        """A case no peer saw in its band is not compared: no expected count, no ratio."""
        reviews = [Review("ann", "q", "x", "y", 0.31), Review("bob", "q", "x", "y", 0.81)]
        ratio = by_name(reviewer_stats(reviews))["ann"].override_ratio
        assert (ratio.observed, ratio.expected, ratio.ratio, ratio.upper) == (0, 0.0, None, None)

    def test_kappa_on_four_eyes_tasks(self):
        """Kappa pairs each reviewer's outcome with the other reviewer's on the same group."""
        rows = [("g1", "a", "a"), ("g2", "b", "b"), ("g3", "a", "b"), ("g4", "b", "b")]
        reviews = [
            r for g, x, y in rows for r in (Review("ann", "q", "a", x, group=g), Review("bob", "q", "a", y, group=g))
        ]
        stats = by_name(reviewer_stats(reviews))
        assert stats["ann"].kappa_pairs == 4 and stats["ann"].kappa == pytest.approx(0.5)
        assert stats["bob"].kappa == pytest.approx(stats["ann"].kappa)

    @pytest.mark.parametrize(
        ("confidence", "band"), [(0.0, 0), (0.05, 0), (0.7, 7), (0.95, 9), (1.0, 9), (None, None), (float("nan"), None)]
    )
    def test_band_of(self, confidence, band):
        """Bands are tenths of confidence, 1.0 in the top one; no confidence, no band."""
        assert band_of(confidence) == band


class TestFlagRules:
    """Each stated flag rule, one at a time."""

    def test_fast_approver(self):
        """More than 97% agreement with a median under 5 s over 20 reviews is flagged."""
        reviews = [Review("sam", "q", "x", "x", seconds=2.0)] * 20
        assert reviewer_stats(reviews)[0].flags == ("fast_approver",)

    def test_fast_approver_needs_enough_reviews(self):
        """Nineteen quick approvals are not yet evidence."""
        assert reviewer_stats([Review("sam", "q", "x", "x", seconds=2.0)] * 19)[0].flags == ()

    def test_slow_approver_is_not_flagged(self):
        """Agreeing often but taking time to look is not rubber-stamping by this rule."""
        assert reviewer_stats([Review("ann", "q", "x", "x", seconds=60.0)] * 40)[0].flags == ()

    def test_accepts_wrong_gold(self):
        """Letting two of three deliberately wrong gold proposals stand is flagged."""
        reviews = [Review("sam", "q", "x", "x", gold_expected="y")] * 2 + [
            Review("sam", "q", "x", "y", gold_expected="y")
        ]
        assert reviewer_stats(reviews)[0].flags == ("accepts_wrong_gold",)

    def test_one_wrong_gold_is_not_flagged(self):
        """One slip on a trap is not a pattern."""
        assert reviewer_stats([Review("ann", "q", "x", "x", gold_expected="y")])[0].flags == ()

    def test_anchored(self):
        """Agreeing with the model when it is shown, far less when it is hidden, is flagged."""
        shown = [Review("sam", "q", "x", "x", seconds=60.0)] * 10
        hidden = [Review("sam", "q", "x", "x", blind=True)] * 5 + [Review("sam", "q", "x", "y", blind=True)] * 5
        assert reviewer_stats(shown + hidden)[0].flags == ("anchored",)

    def test_under_overrides(self):
        """Overriding far less than peers on the same band, with enough expected, is flagged."""
        peers = [Review("bob", "q", "x", "y", 0.8)] * 30 + [Review("bob", "q", "x", "x", 0.8)] * 30
        mine = [Review("sam", "q", "x", "x", 0.8, 60.0)] * 20
        assert by_name(reviewer_stats(peers + mine))["sam"].flags == ("under_overrides",)

    def test_rules_are_parameters(self):
        """A stricter rule set flags what the default does not."""
        reviews = [Review("sam", "q", "x", "x", seconds=2.0)] * 10
        assert reviewer_stats(reviews, rules=FlagRules(min_reviews=10))[0].flags == ("fast_approver",)


class TestSimulation:
    """Seeded worlds of careful reviewers and one rubber-stamper."""

    @pytest.mark.parametrize("seed", range(10))
    def test_stamper_is_flagged_and_careful_reviewers_are_not(self, seed):
        """In every seeded world of 1,000 tasks, the stamper has every flag and no careful reviewer has one."""
        stats = by_name(reviewer_stats(simulate([*CAREFUL, STAMPER], tasks=1000, seed=seed)))
        assert set(stats["sam"].flags) == {"fast_approver", "accepts_wrong_gold", "anchored", "under_overrides"}
        assert all(stats[r.name].flags == () for r in CAREFUL)

    def test_careful_reviewers_have_high_kappa_and_gold_accuracy(self):
        """Careful reviewers agree with each other beyond chance and answer gold cases right."""
        stats = by_name(reviewer_stats(simulate(CAREFUL, tasks=3000, seed=3)))
        assert all(stats[r.name].kappa > 0.7 and stats[r.name].gold_accuracy > 0.85 for r in CAREFUL)

    def test_override_ratio_interval_covers_one_for_a_peer_like_reviewer(self):
        """A reviewer who behaves like the peers has an interval containing 1 in at least 90% of 60 worlds."""
        hits = 0
        for seed in range(60):
            stats = by_name(reviewer_stats(simulate(CAREFUL, tasks=300, seed=100 + seed, gold_rate=0)))
            hits += stats["ann"].override_ratio.lower <= 1.0 <= stats["ann"].override_ratio.upper
        assert hits >= 54

    def test_the_interval_check_can_fail(self):
        """A reviewer who lets 60% of wrong proposals stand is outside the interval in most worlds."""
        lax = Reviewer("ann", override_bias=0.6)
        misses = 0
        for seed in range(60):
            stats = by_name(reviewer_stats(simulate([lax, *CAREFUL[1:]], tasks=300, seed=100 + seed, gold_rate=0)))
            misses += not stats["ann"].override_ratio.lower <= 1.0 <= stats["ann"].override_ratio.upper
        assert misses > 6


class TestFromBody:
    """Reading review_submitted bodies."""

    def test_blind_body_uses_the_initial_outcome(self):
        """On a blind task the reviewer's own judgement is the initial outcome, not the final one."""
        body = {
            "reviewer": "ann",
            "queue": "q",
            "proposed_outcome": "x",
            "initial_outcome": "y",
            "outcome": "x",
            "blind": True,
            "confidence": 0.8,
            "claim_to_submit_seconds": 12,
            "quorum_group": "d1",
        }
        assert review_from_body(body) == Review("ann", "q", "x", "y", 0.8, 12.0, True, None, "d1")

    def test_body_without_outcomes_raises(self):
        """A body that cannot say what was proposed and decided is a ValueError."""
        with pytest.raises(ValueError, match="proposed_outcome"):
            review_from_body({"reviewer": "ann", "outcome": "x"})


class TestFromEvents:
    """Pairing claims with sign-offs in the log."""

    def test_claim_to_submit_time_comes_from_the_reviewers_last_claim(self):
        """The time runs from the reviewer's last claim of the task to its submit; a body without outcomes is skipped."""
        from datetime import UTC, datetime, timedelta

        from audit.reviewers import reviews_from_events

        t0 = datetime(2026, 1, 1, tzinfo=UTC)

        class E:
            """A minimal stored event."""

            def __init__(self, type_, actor, seconds, body):
                self.type, self.actor, self.time, self.body = type_, actor, t0 + timedelta(seconds=seconds), body

        sub = {
            "task_id": "t1",
            "reviewer": "ann",
            "queue": "q",
            "proposal_outcome": "x",
            "outcome": "y",
            "confidence": 0.8,
        }
        events = [
            E("review_claimed", "ann", 0, {"task_id": "t1"}),
            E("review_claimed", "ann", 10, {"task_id": "t1"}),
            E("review_submitted", "ann", 25, sub),
            E("review_submitted", "bob", 30, {"task_id": "t2"}),
        ]
        assert reviews_from_events(events) == [Review("ann", "q", "x", "y", 0.8, 15.0)]
