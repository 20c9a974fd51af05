"""Override statistics from ``review_submitted`` events: how often humans change the model.

Pure: stdlib only. The events carry everything needed in their body, so the statistics come
from the tamper-evident log alone, never from mutable state tables.

A ``review_submitted`` body has: ``decision_id``, ``queue``, ``rule``, ``reviewer``,
``action`` (APPROVE, EDIT, OVERRIDE or REJECT), ``policy_name``, ``policy_version``,
``time_to_decision_seconds`` and ``kind`` (``review`` or ``audit``).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from audit.record import Event

__all__ = ["GROUP_KEYS", "REVIEW_SUBMITTED", "GroupStats", "override_stats"]

REVIEW_SUBMITTED = "review_submitted"
"""The event type the statistics are computed from."""

GROUP_KEYS = frozenset({"kind", "policy_name", "policy_version", "queue", "reviewer", "rule"})
"""The body keys results may be grouped by."""


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Counts and rates for one group of reviews.

    ``override_rate`` is overridden / reviewed; ``changed_rate`` counts every review that did
    not let the proposal stand: (edited + overridden + rejected) / reviewed.
    """

    key: Mapping[str, Any]
    reviewed: int
    approved: int
    edited: int
    overridden: int
    rejected: int
    override_rate: float
    changed_rate: float
    median_time_to_decision_seconds: float | None


@dataclass(slots=True)
class _Acc:
    counts: dict[str, int] = field(default_factory=lambda: {"APPROVE": 0, "EDIT": 0, "OVERRIDE": 0, "REJECT": 0})
    times: list[float] = field(default_factory=list)


def _bodies(events: Iterable[Event | Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """The bodies of the review_submitted events among ``events``, but a gold case's: a sign-off
    with ``gold_case_id`` measures its reviewer against a known answer, never the model."""
    return (b for b in _submitted(events) if "gold_case_id" not in b)


def _submitted(events: Iterable[Event | Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """The bodies of the review_submitted events among ``events``.

    Accepts stored ``Event`` rows, event mappings with ``type`` and ``body`` (the body a
    mapping or JSON text), or bare ``review_submitted`` bodies (mappings without ``body``).
    """
    for ev in events:
        if isinstance(ev, Event):
            if ev.type == REVIEW_SUBMITTED:
                yield ev.body
        elif "body" in ev:
            if ev.get("type") == REVIEW_SUBMITTED:
                body = ev["body"]
                yield json.loads(body) if isinstance(body, str) else body
        else:
            yield ev


def _sort_key(value: Any) -> tuple[int, float, str]:
    """Numbers first in numeric order (version 9 before 10), then text, then missing."""
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def override_stats(events: Iterable[Event | Mapping[str, Any]], group_by: Sequence[str] = ()) -> list[GroupStats]:
    """Group review outcomes by ``group_by`` keys; one ``GroupStats`` per group, sorted by key.

    Raises ``ValueError`` for a key outside ``GROUP_KEYS`` or an unknown action.
    """
    unknown = [k for k in group_by if k not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}; use {', '.join(sorted(GROUP_KEYS))}")
    groups: dict[tuple[Any, ...], _Acc] = {}
    for body in _bodies(events):
        key = tuple(body.get(k) for k in group_by)
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = _Acc()
        action = str(body.get("action", ""))
        if action not in acc.counts:
            raise ValueError(f"review_submitted event has unknown action {action!r}")
        acc.counts[action] += 1
        ttd = body.get("time_to_decision_seconds")
        if isinstance(ttd, int | float) and not isinstance(ttd, bool):
            acc.times.append(float(ttd))
    out = []
    for key in sorted(groups, key=lambda k: tuple(_sort_key(v) for v in k)):
        acc = groups[key]
        c = acc.counts
        reviewed = sum(c.values())
        changed = c["EDIT"] + c["OVERRIDE"] + c["REJECT"]
        out.append(
            GroupStats(
                key=dict(zip(group_by, key, strict=True)),
                reviewed=reviewed,
                approved=c["APPROVE"],
                edited=c["EDIT"],
                overridden=c["OVERRIDE"],
                rejected=c["REJECT"],
                override_rate=c["OVERRIDE"] / reviewed,
                changed_rate=changed / reviewed,
                median_time_to_decision_seconds=(statistics.median(acc.times) if acc.times else None),
            )
        )
    return out
