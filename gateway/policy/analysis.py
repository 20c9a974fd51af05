"""Static analysis of conditions: intervals, contradictions, coverage, reachable outcomes.

Pure: stdlib only. The compiler's stages use these to find rules that can never match and
adverse outcomes that can reach ``auto``. The analysis over-approximates where it must (``any``,
``not``): a warning it cannot prove is a warning it does not give.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NUMERIC_OPS",
    "Interval",
    "contradictions",
    "covered",
    "is_unit_field",
    "leaves",
    "parse_duration",
    "reachable_outcomes",
    "single_field_interval",
    "undeclared_input",
]

NUMERIC_OPS = frozenset({"lt", "lte", "gt", "gte", "between"})
_COMBINATORS = frozenset({"all", "any", "not"})
Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Interval:
    """A set of numbers ``lo..hi``, each end open or closed."""

    lo: float = -math.inf
    lo_in: bool = False
    hi: float = math.inf
    hi_in: bool = False

    def empty(self) -> bool:
        """True when no number lies in the interval."""
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_in and self.hi_in))

    def meet(self, other: Interval) -> Interval:
        """The intersection of two intervals."""
        if other.lo > self.lo or (other.lo == self.lo and not other.lo_in):
            lo, lo_in = other.lo, other.lo_in
        else:
            lo, lo_in = self.lo, self.lo_in
        if other.hi < self.hi or (other.hi == self.hi and not other.hi_in):
            hi, hi_in = other.hi, other.hi_in
        else:
            hi, hi_in = self.hi, self.hi_in
        return Interval(lo, lo_in, hi, hi_in)


_UNIT = Interval(0.0, True, 1.0, True)


def is_unit_field(name: str) -> bool:
    """Confidence and scores are probabilities in [0, 1]."""
    return name == "confidence" or name.startswith("scores.")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def op_interval(op: str, arg: Any) -> Interval | None:
    """The numbers that satisfy one numeric predicate, or None when it is not numeric."""
    if op == "between" and isinstance(arg, list) and len(arg) == 2 and all(map(_number, arg)):
        return Interval(arg[0], True, arg[1], True)
    if not _number(arg):
        return None
    return {
        "lt": Interval(hi=arg),
        "lte": Interval(hi=arg, hi_in=True),
        "gt": Interval(lo=arg),
        "gte": Interval(lo=arg, lo_in=True),
        "eq": Interval(arg, True, arg, True),
    }.get(op)


def leaves(when: Any, parts: Path) -> Iterator[tuple[Path, str, str, Any]]:
    """Every ``(path, field, op, arg)`` predicate in a condition, depth first."""
    if not isinstance(when, Mapping):
        return
    for key, value in when.items():
        if key in ("all", "any") and isinstance(value, list):
            for j, child in enumerate(value):
                yield from leaves(child, (*parts, key, j))
        elif key == "not":
            yield from leaves(value, (*parts, key))
        elif isinstance(value, Mapping):
            for op, arg in value.items():
                yield (*parts, key, op), key, op, arg


def _conjuncts(when: Any, parts: Path) -> Iterator[tuple[Path, str, str, Any]]:
    """The predicates that must all hold for ``when`` to hold (through nested ``all``)."""
    if not isinstance(when, Mapping):
        return
    for key, value in when.items():
        if key == "all" and isinstance(value, list):
            for j, child in enumerate(value):
                yield from _conjuncts(child, (*parts, key, j))
        elif key not in _COMBINATORS and isinstance(value, Mapping):
            for op, arg in value.items():
                yield (*parts, key, op), key, op, arg


def _conditions(when: Any, parts: Path) -> Iterator[tuple[Any, Path]]:
    """Every condition mapping inside ``when``, with its path."""
    if not isinstance(when, Mapping):
        return
    yield when, parts
    for key in ("all", "any"):
        for j, child in enumerate(when.get(key) or []):
            yield from _conditions(child, (*parts, key, j))
    if "not" in when:
        yield from _conditions(when["not"], (*parts, "not"))


def _conflict(preds: Sequence[tuple[Path, str, Any]]) -> str | None:
    """Why predicates on one field cannot all hold, or None."""
    interval = Interval()
    equal: list[Any] = []
    allowed: set[Any] | None = None
    excluded: set[Any] = set()
    exists: set[bool] = set()
    for _parts, op, arg in preds:
        bound = op_interval(op, arg)
        if bound is not None:
            interval = interval.meet(bound)
        if op == "exists":
            exists.add(bool(arg))
        elif op == "eq":
            equal.append(arg)
        elif op == "ne":
            excluded.add(arg)
        elif op == "in" and isinstance(arg, list):
            allowed = set(arg) if allowed is None else allowed & set(arg)
        elif op == "not_in" and isinstance(arg, list):
            excluded |= set(arg)
    if len(exists) == 2 or (False in exists and len(preds) > 1):
        return "an absent field cannot also be compared"
    if interval.empty():
        return "the numeric bounds leave no value"
    if len({repr(v) for v in equal}) > 1:
        return "it cannot equal two different values"
    if equal and (equal[0] in excluded or (allowed is not None and equal[0] not in allowed)):
        return f"{equal[0]!r} is both required and excluded"
    if allowed is not None and not allowed - excluded:
        return "every allowed value is excluded"
    return None


def contradictions(when: Any, parts: Path) -> Iterator[tuple[Path, str]]:
    """``(path, message)`` for each field a conjunction constrains to nothing."""
    for cond, cparts in _conditions(when, parts):
        by_field: dict[str, list[tuple[Path, str, Any]]] = {}
        for lparts, name, op, arg in _conjuncts(cond, cparts):
            by_field.setdefault(name, []).append((lparts, op, arg))
        for name, preds in by_field.items():
            why = _conflict(preds)
            if why:
                shown = " and ".join(f"{op} {arg!r}" for _p, op, arg in preds)
                yield preds[0][0][:-1], f"{name}: {shown} can never all hold ({why})"


def single_field_interval(when: Any) -> tuple[str, Interval] | None:
    """``(field, interval)`` when ``when`` only bounds one numeric field; else None."""
    if not isinstance(when, Mapping) or "any" in when or "not" in when:
        return None
    preds = list(_conjuncts(when, ()))
    if not preds or len({name for _p, name, _o, _a in preds}) != 1:
        return None
    interval = Interval()
    for _p, _name, op, arg in preds:
        bound = op_interval(op, arg)
        if bound is None or op in ("eq",):
            return None
        interval = interval.meet(bound)
    stack = [when]
    while stack:  # nested any/not inside an all make the rule more than a single interval
        node = stack.pop()
        if "any" in node or "not" in node:
            return None
        stack.extend(c for c in node.get("all") or [] if isinstance(c, Mapping))
    return preds[0][1], interval


def covered(target: Interval, earlier: Sequence[Interval], name: str) -> bool:
    """True when the union of ``earlier`` contains every value of ``target`` in the field's domain."""
    if is_unit_field(name):
        target = target.meet(_UNIT)
    if target.empty():
        return False
    x, closed = target.lo, target.lo_in
    while True:
        if x > target.hi or (x == target.hi and not (closed and target.hi_in)):
            return True
        best: tuple[float, bool] | None = None
        for iv in earlier:
            starts = iv.lo < x or (iv.lo == x and (iv.lo_in or not closed))
            reaches = iv.hi > x or (iv.hi == x and iv.hi_in and closed)
            if starts and reaches and (best is None or (iv.hi, iv.hi_in) > best):
                best = (iv.hi, iv.hi_in)
        if best is None:
            return False
        if (best[0], not best[1]) == (x, closed):
            return False
        x, closed = best[0], not best[1]


def reachable_outcomes(when: Any, outcomes: set[str]) -> set[str]:
    """The outcomes for which ``when`` may hold (an over-approximation)."""
    if not isinstance(when, Mapping):
        return set(outcomes)
    reach = set(outcomes)
    for key, value in when.items():
        if key == "all":
            for child in value:
                reach &= reachable_outcomes(child, outcomes)
        elif key == "any":
            union: set[str] = set()
            for child in value:
                union |= reachable_outcomes(child, outcomes)
            reach &= union
        elif key == "not":
            if isinstance(value, Mapping) and set(value) == {"outcome"}:
                reach &= outcomes - reachable_outcomes(value, outcomes)
        elif key == "outcome" and isinstance(value, Mapping):
            for op, arg in value.items():
                if op == "eq":
                    reach &= {arg}
                elif op == "ne":
                    reach -= {arg}
                elif op == "in":
                    reach &= set(arg)
                elif op == "not_in":
                    reach -= set(arg)
    return reach


def undeclared_input(schema: Any, keys: Sequence[str]) -> str | None:
    """Why ``input.<keys>`` is not declared in ``schema``'s nested properties, or None."""
    node = schema
    for depth, key in enumerate(keys):
        props = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(props, Mapping) or key not in props:
            where = "input" if depth == 0 else "input." + ".".join(keys[:depth])
            return f"no '{key}' under the properties of {where}"
        node = props[key]
    return None


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: Any) -> int | None:
    """Whole seconds of a duration like ``90s``, ``4h`` or ``1h30m`` (units d, h, m, s in that order).

    None when ``text`` is not such a duration or is zero: a timer that fires at once is a mistake.
    """
    if not isinstance(text, str) or not text:
        return None
    match = _DURATION.fullmatch(text)
    if match is None:
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    return total or None
