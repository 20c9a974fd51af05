"""Rule indexing: a run of consecutive threshold rules on one field answered by one ``bisect``.

Why: a policy often bands one number (``confidence < 0.5 -> senior``, ``< 0.7 -> junior``,
``<= 0.92 -> sampled``, ...). First match wins, so for any value the deciding rule of the run is
fixed by where the value falls among the run's thresholds. The thresholds ``t0 < t1 < ... <
t(m-1)`` cut the number line into ``2m + 1`` regions: below ``t0``, at ``t0``, between ``t0``
and ``t1``, at ``t1``, ..., above ``t(m-1)``. Each region gets the first rule of the run that
holds everywhere in it (or none), computed exactly here, once, at compile time:

- at a threshold the predicate is evaluated on the threshold itself;
- inside an open region ``(a, b)`` no threshold lies strictly between, so ``v < t`` and
  ``v <= t`` hold iff ``t >= b``, ``v > t`` and ``v >= t`` iff ``t <= a``, and ``between
  [lo, hi]`` iff ``lo <= a`` and ``hi >= b``.

A request's region is ``2 * bisect_left(keys, v) + (padded[i] == v)``: one C call and one
comparison in place of one comparison per rule. Only int and float thresholds (never bool or
NaN) are indexed; anything else keeps the rule-by-rule code, which gives the same answers.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["INDEX_MIN_RULES", "THRESHOLD_OPS", "Index", "Threshold", "build_index", "region"]

INDEX_MIN_RULES = 32
"""Shorter runs stay inline. Measured (``bench/policy_eval.py --bands``): CPython's specialised
float comparison costs a few nanoseconds, the bisect, the table lookup and the unpacking of the
entry about 0.1 µs, so one comparison per rule is faster up to about 30 bands."""

THRESHOLD_OPS = frozenset({"lt", "lte", "gt", "gte", "between"})
_NUM = frozenset({int, float})


@dataclass(frozen=True, slots=True)
class Threshold:
    """One rule of a run: ``field op arg``, with ``arg`` a number or a ``[lo, hi]`` pair."""

    field: str
    op: str
    arg: Any


@dataclass(frozen=True, slots=True)
class Index:
    """The compiled run: sorted distinct thresholds and the deciding rule of each region."""

    field: str
    keys: tuple[int | float, ...]
    padded: tuple[int | float, ...]
    """``keys`` plus a NaN, which equals nothing: ``padded[i] == v`` is safe for ``i == len(keys)``."""
    table: tuple[int | None, ...]
    """For each of the ``2 * len(keys) + 1`` regions, the position in the run of the deciding rule."""
    bisect: Callable[[Sequence[Any], Any], int] = bisect_left


def _number(value: Any) -> bool:
    """An int or float that is not NaN (bool is excluded, as the evaluator excludes it)."""
    return value.__class__ in _NUM and value == value


def _bounds(t: Threshold) -> list[Any] | None:
    """The numbers of a threshold, or None when it cannot be indexed."""
    values = list(t.arg) if t.op == "between" else [t.arg]
    if t.op == "between" and len(values) != 2:
        return None
    return values if all(_number(v) for v in values) else None


def _holds_at(t: Threshold, v: Any) -> bool:
    """The predicate at the point ``v``."""
    if t.op == "between":
        lo, hi = t.arg
        return bool(lo <= v <= hi)
    return bool({"lt": v < t.arg, "lte": v <= t.arg, "gt": v > t.arg, "gte": v >= t.arg}[t.op])


def _holds_between(t: Threshold, a: Any, b: Any) -> bool:
    """The predicate everywhere strictly between ``a`` and ``b``, two neighbouring thresholds."""
    if t.op == "between":
        lo, hi = t.arg
        return bool(lo <= a and hi >= b)
    if t.op in ("lt", "lte"):
        return bool(t.arg >= b)
    return bool(t.arg <= a)


def build_index(run: Sequence[Threshold]) -> Index | None:
    """Index a run of thresholds on one field, or None when it cannot be indexed exactly."""
    if not run or any(t.field != run[0].field or t.op not in THRESHOLD_OPS for t in run):
        return None
    numbers: list[Any] = []
    for t in run:
        bounds = _bounds(t)
        if bounds is None:
            return None
        numbers += bounds
    keys = sorted(set(numbers))
    table: list[int | None] = []
    for i in range(2 * len(keys) + 1):
        if i % 2:
            point = keys[i // 2]
            holds = [_holds_at(t, point) for t in run]
        else:
            a = keys[i // 2 - 1] if i else -math.inf
            b = keys[i // 2] if i // 2 < len(keys) else math.inf
            holds = [_holds_between(t, a, b) for t in run]
        table.append(next((p for p, h in enumerate(holds) if h), None))
    return Index(run[0].field, tuple(keys), (*keys, math.nan), tuple(table))


def region(index: Index, v: Any) -> int:
    """The region of a number (not NaN) among the index's keys; what the generated code computes."""
    i = index.bisect(index.keys, v)
    return 2 * i + (index.padded[i] == v)
