"""Compile a rule's validated ``when`` condition into closures: a fast test, a checked test, reasons.

Pure: stdlib only. A closure raises :class:`Unjudgeable` (or any exception) where the request
lacks what the condition needs; the evaluator's slow path turns that into the fail-closed route.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.policy.model import EvalRequest

__all__ = ["MISSING", "NUMBER", "Node", "Test", "Unjudgeable", "bad", "compile_condition", "format_value"]

NUMBER = frozenset({int, float})
MISSING = object()

_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!=", "in": "in", "not_in": "not in"}
_NEGATED = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<", "eq": "!=", "ne": "==", "in": "not in", "not_in": "in"}
_COMPARE = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
_NUMERIC_OPS = frozenset({"lt", "lte", "gt", "gte", "between"})

Test = Callable[[EvalRequest], bool]


class Unjudgeable(Exception):
    """Internal signal: a condition needs something the request does not give."""


def bad() -> bool:
    """Raise :class:`Unjudgeable` where a closure would: the generated code calls it."""
    raise Unjudgeable


@dataclass(frozen=True, slots=True)
class Node:
    """A compiled condition: a fast test, a checked test that names the problem, and its reasons."""

    test: Test
    checked: Test
    explain: Callable[[EvalRequest, bool], list[str]]
    describe: Callable[[EvalRequest], str] | None = None
    """For a single predicate: its reason when it holds, without building a list."""
    shape: tuple[Any, ...] = ()
    """For ``codegen``: ``("leaf", field, op, arg, prefix, yes)`` or ``("all"|"any", nodes)`` or ``("not", node)``."""


def format_value(value: Any) -> str:
    """A value as it appears in a reason: numbers bare, strings quoted, lists bracketed."""
    if value is None or value is MISSING:
        return "null" if value is None else "missing"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def _getter(field: str) -> Callable[[EvalRequest], Any]:
    """Read a field from a request; raises (KeyError, TypeError, ...) when it is not there."""
    if field == "confidence":
        return lambda r: r.confidence
    if field == "outcome":
        return lambda r: r.outcome
    if field == "model":
        return lambda r: r.model
    head, _, rest = field.partition(".")
    if head == "scores":
        return lambda r: r.scores[rest]
    keys = tuple(rest.split("."))
    if len(keys) == 1:
        (k,) = keys
        return lambda r: r.input[k]
    if len(keys) == 2:
        k1, k2 = keys
        return lambda r: r.input[k1][k2]

    def deep(r: EvalRequest) -> Any:
        value: Any = r.input
        for key in keys:
            value = value[key]
        return value

    return deep


def _resolve(r: EvalRequest, field: str) -> Any:
    """The field's value, or ``MISSING``; never raises (used by the slow path and ``exists``)."""
    try:
        value = _getter(field)(r)
    except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
        return MISSING
    return MISSING if value is None else value


def _numeric(field: str, op: str, b: Any) -> Test:
    """A comparison that holds, fails, or raises for a non-number or NaN (the request is unjudgeable)."""
    if op == "between":
        lo, hi = b
        get = _getter(field)

        def between(r: EvalRequest) -> bool:
            v = get(r)
            if v.__class__ in NUMBER and v == v:
                return lo <= v <= hi
            raise Unjudgeable

        return between
    cmp = _COMPARE[op]
    head, _, key = field.partition(".")
    if head == "input" and "." not in key:  # the common case, one call frame fewer

        def top_level(r: EvalRequest) -> bool:
            v = r.input[key]
            if v.__class__ in NUMBER and v == v:
                return cmp(v, b)  # type: ignore[arg-type]  # a number: checked on the line above
            raise Unjudgeable

        return top_level
    get = _getter(field)

    def nested(r: EvalRequest) -> bool:
        v = get(r)
        if v.__class__ in NUMBER and v == v:
            return cmp(v, b)  # type: ignore[arg-type]  # a number: checked on the line above
        raise Unjudgeable

    return nested


def _confidence(op: str, b: Any) -> Test:
    """Confidence comparisons skip type checks: the evaluator checked it is a number in [0, 1]."""
    if op == "lt":
        return lambda r: r.confidence < b
    if op == "lte":
        return lambda r: r.confidence <= b
    if op == "gt":
        return lambda r: r.confidence > b
    if op == "gte":
        return lambda r: r.confidence >= b
    lo, hi = b
    return lambda r: lo <= r.confidence <= hi


def _leaf_test(field: str, op: str, arg: Any) -> Test:
    """The fast closure for one ``field: {op: arg}``."""
    if op == "exists":
        want = bool(arg)
        return lambda r: (_resolve(r, field) is not MISSING) is want
    if op in _NUMERIC_OPS:
        if field == "confidence":
            return _confidence(op, arg)
        return _numeric(field, op, tuple(arg) if op == "between" else arg)
    get = _getter(field)

    def present(r: EvalRequest) -> Any:
        v = get(r)
        if v is None:
            raise Unjudgeable
        return v

    if op == "eq":
        return lambda r: present(r) == arg
    if op == "ne":
        return lambda r: present(r) != arg
    members = frozenset(arg)
    if op == "in":
        return lambda r: present(r) in members
    return lambda r: present(r) not in members


def _why_not(r: EvalRequest, field: str, op: str) -> str:
    """Say why a leaf could not be judged: the field is missing, or its value has the wrong type."""
    value = _resolve(r, field)
    if value is MISSING:
        return f"{field} is missing"
    if op in _NUMERIC_OPS:
        if isinstance(value, float) and math.isnan(value):
            return f"{field} is NaN"
        return f"{field} {format_value(value)} is a {type(value).__name__}, not a number"
    return f"{field} {format_value(value)} has the wrong type ({type(value).__name__})"


def _leaf(field: str, op: str, arg: Any) -> Node:
    """Compile one ``field: {op: arg}`` predicate."""
    test = _leaf_test(field, op, arg)

    def checked(r: EvalRequest) -> bool:
        try:
            return test(r)
        except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
            raise Unjudgeable(_why_not(r, field, op)) from None

    if op == "exists":
        present, absent = [f"{field} is present"], [f"{field} is absent"]
        want = bool(arg)

        def explain(r: EvalRequest, held: bool) -> list[str]:
            return list(present if want is held else absent)

        return Node(test, checked, explain, shape=("leaf", field, op, arg, None, None))
    get = _getter(field)
    if op == "between":
        yes = f" in [{format_value(arg[0])}, {format_value(arg[1])}]"
        no = " not" + yes
    else:
        yes = f" {_SYMBOL[op]} {format_value(arg)}"
        no = f" {_NEGATED[op]} {format_value(arg)}"

    prefix = field + " "
    if op in _NUMERIC_OPS and field == "confidence":  # it held, so the value is a number

        def describe(r: EvalRequest) -> str:
            return prefix + repr(r.confidence) + yes
    elif op in _NUMERIC_OPS and field.count(".") == 1 and field.startswith("input."):
        key = field[6:]

        def describe(r: EvalRequest) -> str:
            return prefix + repr(r.input[key]) + yes
    else:

        def describe(r: EvalRequest) -> str:
            try:
                v = get(r)
            except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
                v = MISSING
            return prefix + (repr(v) if v.__class__ in NUMBER else format_value(v)) + yes

    def explain(r: EvalRequest, held: bool) -> list[str]:  # type: ignore[no-redef]  # one explain per branch
        if held:
            return [describe(r)]
        try:
            v = get(r)
        except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
            v = MISSING
        return [field + " " + (repr(v) if v.__class__ in NUMBER else format_value(v)) + no]

    return Node(test, checked, explain, describe, ("leaf", field, op, arg, prefix, yes))


def _all(nodes: Sequence[Node]) -> Node:
    """Every node holds; reasons list each that held, or the first that failed."""
    tests = tuple(n.test for n in nodes)
    if len(tests) == 1:
        return nodes[0]
    if len(tests) == 2:
        a, b = tests
        test: Test = lambda r: a(r) and b(r)
    else:

        def test(r: EvalRequest) -> bool:
            for t in tests:
                if not t(r):
                    return False
            return True

    def checked(r: EvalRequest) -> bool:
        return all(n.checked(r) for n in nodes)

    def explain(r: EvalRequest, held: bool) -> list[str]:
        if held:
            return [text for n in nodes for text in n.explain(r, True)]
        for n in nodes:
            if not n.test(r):
                return n.explain(r, False)
        return []

    return Node(test, checked, explain, shape=("all", tuple(nodes)))


def _any(nodes: Sequence[Node]) -> Node:
    """Some node holds; reasons list the nodes that held, or why each failed."""
    tests = tuple(n.test for n in nodes)

    def test(r: EvalRequest) -> bool:
        for t in tests:
            if t(r):
                return True
        return False

    def checked(r: EvalRequest) -> bool:
        return any(n.checked(r) for n in nodes)

    def explain(r: EvalRequest, held: bool) -> list[str]:
        if held:
            for n in nodes:
                if n.test(r):
                    return n.explain(r, True)
            return []
        return [text for n in nodes for text in n.explain(r, False)]

    return Node(test, checked, explain, shape=("any", tuple(nodes)))


def _not(node: Node) -> Node:
    """The node does not hold; its reasons are the inner node's, negated."""
    inner = node.test
    return Node(
        lambda r: not inner(r),
        lambda r: not node.checked(r),
        lambda r, held: node.explain(r, not held),
        shape=("not", node),
    )


def compile_condition(when: Mapping[str, Any]) -> Node:
    """Compile a schema-valid ``when`` mapping to a :class:`Node`.

    Keys of a mapping are compiled in sorted order, and ``exists`` before a field's other
    operators, so that behaviour (which missing field fails closed first) depends only on the
    canonical form the digest covers, never on how the YAML happened to be ordered. Lists
    (``all``, ``any``) keep their order: that is how a policy states one.
    """
    parts: list[Node] = []
    for key in sorted(when):
        value = when[key]
        if key == "all":
            parts.append(_all([compile_condition(c) for c in value]))
        elif key == "any":
            parts.append(_any([compile_condition(c) for c in value]))
        elif key == "not":
            parts.append(_not(compile_condition(value)))
        else:
            ops = sorted(value, key=lambda op: (op != "exists", op))
            parts.extend(_leaf(key, op, value[op]) for op in ops)
    return _all(parts)
