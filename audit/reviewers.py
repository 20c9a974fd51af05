"""Evidence of reviewer engagement: does human review add judgement, or only a signature?

Pure: stdlib only. The input is one :class:`Review` per submitted review (read from the log's
``review_submitted`` bodies by :func:`review_from_body`); the output is one
:class:`ReviewerStats` per reviewer (or per reviewer and queue), with the rubber-stamp flags
whose rules :class:`FlagRules` states:

``fast_approver``
    agreement with the model on ordinary tasks above ``max_approval`` (97%) and a median
    claim-to-submit time under ``min_median_seconds`` (5 s), over at least ``min_reviews`` (20).
``accepts_wrong_gold``
    on gold cases whose proposal is deliberately wrong, the reviewer let the wrong proposal
    stand at least ``min_gold_traps_accepted`` (2) times and in at least half of them.
``anchored``
    agreement with the model on ordinary tasks exceeds agreement on blind tasks (where the
    proposal was hidden until the reviewer's own outcome was recorded) by more than
    ``max_anchor_gap`` (0.25), over at least ``min_blind`` (10) blind tasks.
``under_overrides``
    the override ratio against peers on the same confidence band (observed / expected) has an
    exact Poisson upper bound below ``max_override_ratio_upper`` (0.5), with at least
    ``min_expected_overrides`` (5) expected: the reviewer overrides far less than peers do on
    the same kind of case.

Gold reviews feed only gold accuracy; they never count as agreement, approvals or overrides.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from audit.exact import cohen_kappa, poisson_interval

__all__ = [
    "ALL_QUEUES",
    "FlagRules",
    "OverrideRatio",
    "Review",
    "ReviewerStats",
    "band_of",
    "flag_rules_text",
    "review_from_body",
    "reviewer_stats",
    "reviews_from_events",
]

ALL_QUEUES = "*"
"""The queue name of statistics taken over every queue together."""


@dataclass(frozen=True, slots=True)
class Review:
    """One submitted review, as the statistics need it.

    ``outcome`` is the reviewer's own judgement: on a blind task the initial outcome recorded
    before the reveal, otherwise the submitted outcome. ``gold_expected`` is the known answer of a
    gold case (None for a real task). ``group`` is the decision id shared by the reviewers of one
    four-eyes task (None when one reviewer decides alone).
    """

    reviewer: str
    queue: str
    proposed: str
    outcome: str
    confidence: float | None = None
    seconds: float | None = None
    blind: bool = False
    gold_expected: str | None = None
    group: str | None = None

    @property
    def gold(self) -> bool:
        """True for a gold case."""
        return self.gold_expected is not None

    @property
    def trap(self) -> bool:
        """True for a gold case whose proposal is deliberately wrong."""
        return self.gold_expected is not None and self.proposed != self.gold_expected

    @property
    def agrees(self) -> bool:
        """The reviewer's outcome is the model's proposal."""
        return self.outcome == self.proposed


@dataclass(frozen=True, slots=True)
class FlagRules:
    """The stated rules of the rubber-stamp flags (see the module docstring)."""

    max_approval: float = 0.97
    min_median_seconds: float = 5.0
    min_reviews: int = 20
    min_gold_traps_accepted: int = 2
    max_anchor_gap: float = 0.25
    min_blind: int = 10
    max_override_ratio_upper: float = 0.5
    min_expected_overrides: float = 5.0
    band_width: float = 0.1
    alpha: float = 0.05


@dataclass(frozen=True, slots=True)
class OverrideRatio:
    """Overrides observed against those expected from peers on the same confidence bands."""

    observed: int
    expected: float
    ratio: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True, slots=True)
class ReviewerStats:
    """The evidence for one reviewer in one queue (``queue == "*"`` for all queues together)."""

    reviewer: str
    queue: str
    reviews: int
    median_seconds: float | None
    approval_rate: float | None
    agreement_ordinary: float | None
    agreement_blind: float | None
    blind_reviews: int
    gold_reviews: int
    gold_accuracy: float | None
    gold_traps: int
    gold_traps_accepted: int
    gold_trap_accuracy: float | None
    override_ratio: OverrideRatio
    kappa: float | None
    kappa_pairs: int
    flags: tuple[str, ...] = field(default=())


def flag_rules_text(r: FlagRules) -> dict[str, str]:
    """Each rubber-stamp flag and, in words, the rule under ``r`` that raises it."""
    return {
        "fast_approver": f"agreement with the model above {r.max_approval:.0%} and a median claim-to-submit time "
        f"under {r.min_median_seconds:g} s, over at least {r.min_reviews} reviews",
        "accepts_wrong_gold": f"let at least {r.min_gold_traps_accepted} deliberately wrong gold proposals stand, "
        "and at least half of those seen",
        "anchored": f"agreement on ordinary tasks exceeds agreement on blind tasks by more than {r.max_anchor_gap:g}, "
        f"over at least {r.min_blind} blind tasks",
        "under_overrides": f"the upper end of the {1 - r.alpha:.0%} interval of overrides against peers on the same "
        f"confidence band is below {r.max_override_ratio_upper:g}, with at least "
        f"{r.min_expected_overrides:g} expected",
    }


def band_of(confidence: float | None, width: float = 0.1) -> int | None:
    """The confidence band index (``floor(confidence / width)``, 1.0 in the top band), or None."""
    if confidence is None or math.isnan(confidence):
        return None
    top = math.ceil(1.0 / width) - 1
    return min(max(math.floor(confidence / width + 1e-9), 0), top)  # 0.7 / 0.1 is 6.999...


def review_from_body(body: Mapping[str, Any], seconds: float | None = None) -> Review:
    """A :class:`Review` from a ``review_submitted`` body.

    Reads ``reviewer``, ``queue``, ``proposal_outcome`` (or ``proposed_outcome``), ``outcome`` (or
    ``initial_outcome`` on a blind task), ``confidence``, ``claim_to_submit_seconds`` (unless
    ``seconds`` is given), ``blind``, ``gold_expected`` and ``quorum_group``; a body without a
    proposed or final outcome raises ``ValueError``.
    """
    proposed = body.get("proposal_outcome", body.get("proposed_outcome"))
    outcome = body.get("initial_outcome") if body.get("blind") else body.get("outcome")
    if not isinstance(proposed, str) or not isinstance(outcome, str):
        raise ValueError("review_submitted body lacks proposed_outcome or outcome")
    confidence = body.get("confidence")
    seconds = body.get("claim_to_submit_seconds") if seconds is None else seconds
    return Review(
        reviewer=str(body.get("reviewer", "")),
        queue=str(body.get("queue", "")),
        proposed=proposed,
        outcome=outcome,
        confidence=float(confidence) if isinstance(confidence, int | float) else None,
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        blind=bool(body.get("blind")),
        gold_expected=body.get("gold_expected"),
        group=body.get("quorum_group"),
    )


def reviews_from_events(events: Iterable[Any]) -> list[Review]:
    """Reviews from the log: each ``review_submitted`` event, timed from its reviewer's last
    ``review_claimed`` event on the same task (claim to submit). Events are ``audit.Event`` rows
    (``type``, ``time``, ``actor``, ``body``) in sequence order; bodies without outcomes are skipped."""
    claimed: dict[tuple[str, str], Any] = {}
    out: list[Review] = []
    for e in events:
        body = e.body
        key = (str(body.get("task_id", "")), e.actor)
        if e.type == "review_claimed":
            claimed[key] = e.time
        elif e.type == "review_submitted":
            start = claimed.pop(key, None)
            try:
                out.append(review_from_body(body, (e.time - start).total_seconds() if start else None))
            except ValueError:
                continue  # written before sign-offs recorded the proposal: nothing to compare
    return out


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _band_counts(reviews: Iterable[Review], width: float) -> dict[int, tuple[int, int]]:
    """Per confidence band: (overrides, reviews) among ``reviews``."""
    counts: dict[int, tuple[int, int]] = {}
    for r in reviews:
        band = band_of(r.confidence, width)
        if band is not None:
            over, total = counts.get(band, (0, 0))
            counts[band] = (over + (not r.agrees), total + 1)
    return counts


def _override_ratio(mine: Sequence[Review], rates: Mapping[int, tuple[int, int]], rules: FlagRules) -> OverrideRatio:
    """Observed overrides against the peers' override rate on each of this reviewer's bands
    (``rates``: the peers' overrides and reviews per band)."""
    observed, expected = 0, 0.0
    for r in mine:
        band = band_of(r.confidence, rules.band_width)
        if band is None or not rates.get(band, (0, 0))[1]:
            continue  # no peer saw this kind of case: nothing to compare with
        over, total = rates[band]
        observed += not r.agrees
        expected += over / total
    if expected <= 0:
        return OverrideRatio(observed, expected, None, None, None)
    lower, upper = poisson_interval(observed, rules.alpha)
    return OverrideRatio(observed, expected, observed / expected, lower / expected, upper / expected)


def _kappa(mine: Sequence[Review], by_group: Mapping[str, Sequence[Review]]) -> tuple[float | None, int]:
    """Cohen's kappa of this reviewer against the other reviewers of the same four-eyes tasks
    (``by_group``: the scope's non-gold reviews by ``quorum_group``)."""
    pairs = [
        (m.outcome, o.outcome)
        for m in mine
        if m.group is not None and not m.gold
        for o in by_group.get(m.group, [])
        if o.reviewer != m.reviewer
    ]
    return cohen_kappa(pairs), len(pairs)


def _flags(s: ReviewerStats, rules: FlagRules) -> tuple[str, ...]:
    flags = []
    if (
        s.reviews >= rules.min_reviews
        and s.agreement_ordinary is not None
        and s.median_seconds is not None
        and s.agreement_ordinary > rules.max_approval
        and s.median_seconds < rules.min_median_seconds
    ):
        flags.append("fast_approver")
    accepted = s.gold_traps_accepted
    if accepted >= rules.min_gold_traps_accepted and 2 * accepted >= s.gold_traps:
        flags.append("accepts_wrong_gold")
    if (
        s.blind_reviews >= rules.min_blind
        and s.agreement_ordinary is not None
        and s.agreement_blind is not None
        and s.agreement_ordinary - s.agreement_blind > rules.max_anchor_gap
    ):
        flags.append("anchored")
    ratio = s.override_ratio
    if (
        ratio.upper is not None
        and ratio.expected >= rules.min_expected_overrides
        and ratio.upper < rules.max_override_ratio_upper
    ):
        flags.append("under_overrides")
    return tuple(flags)


def _one(
    reviewer: str,
    queue: str,
    mine: Sequence[Review],
    scope_rates: Mapping[int, tuple[int, int]],
    by_group: Mapping[str, Sequence[Review]],
    rules: FlagRules,
) -> ReviewerStats:
    """One reviewer's figures; ``scope_rates`` are everyone's non-gold overrides per band in the
    scope, from which this reviewer's own are taken out to give the peers' rates."""
    real = [r for r in mine if not r.gold]
    ordinary = [r for r in real if not r.blind]
    blind = [r for r in real if r.blind]
    gold = [r for r in mine if r.gold]
    traps = [r for r in gold if r.trap]
    times = [r.seconds for r in real if r.seconds is not None]
    own = _band_counts(real, rules.band_width)
    peer_rates = {
        band: (over - own.get(band, (0, 0))[0], total - own.get(band, (0, 0))[1])
        for band, (over, total) in scope_rates.items()
    }
    kappa, kappa_pairs = _kappa(real, by_group)
    stats = ReviewerStats(
        reviewer=reviewer,
        queue=queue,
        reviews=len(real),
        median_seconds=statistics.median(times) if times else None,
        approval_rate=_rate(sum(r.agrees for r in real), len(real)),
        agreement_ordinary=_rate(sum(r.agrees for r in ordinary), len(ordinary)),
        agreement_blind=_rate(sum(r.agrees for r in blind), len(blind)),
        blind_reviews=len(blind),
        gold_reviews=len(gold),
        gold_accuracy=_rate(sum(r.outcome == r.gold_expected for r in gold), len(gold)),
        gold_traps=len(traps),
        gold_traps_accepted=sum(r.agrees for r in traps),
        gold_trap_accuracy=_rate(sum(r.outcome == r.gold_expected for r in traps), len(traps)),
        override_ratio=_override_ratio(real, peer_rates, rules),
        kappa=kappa,
        kappa_pairs=kappa_pairs,
    )
    return replace(stats, flags=_flags(stats, rules))


def reviewer_stats(
    reviews: Iterable[Review], *, by_queue: bool = False, rules: FlagRules = FlagRules()
) -> list[ReviewerStats]:
    """One :class:`ReviewerStats` per reviewer (and per queue when ``by_queue``), sorted.

    Peers, for the override ratio and kappa, are the other reviewers of the same scope: the
    same queue when ``by_queue``, every queue otherwise.
    """
    items = list(reviews)
    scopes: dict[str, list[Review]] = {}
    for r in items:
        scopes.setdefault(r.queue if by_queue else ALL_QUEUES, []).append(r)
    out = []
    for queue in sorted(scopes):
        scope = scopes[queue]
        real = [r for r in scope if not r.gold]
        rates = _band_counts(real, rules.band_width)
        by_group: dict[str, list[Review]] = {}
        by_reviewer: dict[str, list[Review]] = {}
        for r in scope:
            by_reviewer.setdefault(r.reviewer, []).append(r)
            if r.group is not None and not r.gold:
                by_group.setdefault(r.group, []).append(r)
        for reviewer in sorted(by_reviewer):
            out.append(_one(reviewer, queue, by_reviewer[reviewer], rates, by_group, rules))
    return out
