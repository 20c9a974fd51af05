"""The report's reviewer-engagement section: does human review add judgement, per reviewer and queue?

Reads the period's ``review_claimed`` and ``review_submitted`` events (by event time, half-open
``[start, end)``) straight from the audit log, and hands them to ``audit.reviewers``, which holds
the figures and the rubber-stamp rules. The section states its rules, so a reader can check a flag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from audit.reviewers import FlagRules, ReviewerStats, flag_rules_text, reviewer_stats, reviews_from_events
from audit.schema import audit_events

__all__ = ["FLAG_RULES_TEXT", "reviewer_section"]

_E = audit_events.c
FLAG_RULES_TEXT = flag_rules_text(FlagRules())
"""Each rubber-stamp flag and the rule that raises it."""


@dataclass(frozen=True, slots=True)
class _Row:
    """A stored event as ``reviews_from_events`` reads it."""

    type: str
    actor: str
    time: datetime
    body: dict[str, Any]


def _row(s: ReviewerStats) -> dict[str, Any]:
    r = s.override_ratio
    return {
        "queue": s.queue,
        "reviewer": s.reviewer,
        "reviews": s.reviews,
        "median_claim_to_submit_seconds": s.median_seconds,
        "approval_rate": s.approval_rate,
        "agreement_ordinary": s.agreement_ordinary,
        "agreement_blind": s.agreement_blind,
        "blind_reviews": s.blind_reviews,
        "gold_reviews": s.gold_reviews,
        "gold_accuracy": s.gold_accuracy,
        "gold_traps": s.gold_traps,
        "gold_traps_accepted": s.gold_traps_accepted,
        "overrides_observed": r.observed,
        "overrides_expected": r.expected,
        "override_ratio": r.ratio,
        "override_ratio_lower": r.lower,
        "override_ratio_upper": r.upper,
        "kappa": s.kappa,
        "kappa_pairs": s.kappa_pairs,
        "flags": list(s.flags),
    }


def reviewer_section(conn: Connection, start: datetime, end: datetime) -> dict[str, Any]:
    """Per-reviewer and per-queue evidence of engagement for sign-offs made in ``[start, end)``."""
    stmt = (
        select(_E.type, _E.actor, _E.time, _E.body_json)
        .where(_E.type.in_(["review_claimed", "review_submitted"]), _E.time >= start, _E.time < end)
        .order_by(_E.seq)
    )
    rows = [_Row(r.type, r.actor, r.time, json.loads(r.body_json)) for r in conn.execute(stmt)]
    reviews = reviews_from_events(rows)
    overall = reviewer_stats(reviews)
    return {
        "basis": "sign-offs (review_submitted events) made in [from, to), timed from the reviewer's claim",
        "flag_rules": dict(FLAG_RULES_TEXT),
        "flagged": sorted({s.reviewer for s in overall if s.flags}),
        "by_reviewer": [_row(s) for s in overall],
        "by_reviewer_and_queue": [_row(s) for s in reviewer_stats(reviews, by_queue=True)],
    }
