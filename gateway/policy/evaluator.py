"""Turn validated rule conditions into closures and evaluate requests against them.

Pure: stdlib only, no clock, file or logger. The fast path runs plain closures and formats no
string for rules that do not match; reasons are built only for the rule that decides. Anything
unexpected (a missing field, a value of the wrong type, NaN) makes a closure raise, and the
slow path then walks the rules again to say which field of which rule could not be judged. The
result of that is always the fail-closed queue, never ``auto``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.policy.codegen import RuleSpec, generate
from gateway.policy.model import EvalRequest, PolicyRef, Route

__all__ = ["CompiledRule", "Node", "build_evaluator", "compile_condition", "format_value"]

_NUM = frozenset({int, float})
_MISSING = object()

_SYMBOL = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "==", "ne": "!=", "in": "in", "not_in": "not in"}
_NEGATED = {"lt": ">=", "lte": ">", "gt": "<=", "gte": "<", "eq": "!=", "ne": "==", "in": "not in", "not_in": "in"}
_COMPARE = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}
_NUMERIC_OPS = frozenset({"lt", "lte", "gt", "gte", "between"})

Test = Callable[[EvalRequest], bool]


class _Unjudgeable(Exception):
    """Internal signal: a condition needs something the request does not give."""


def _bad() -> bool:
    """Raise :class:`_Unjudgeable` where a closure would: the generated code calls it."""
    raise _Unjudgeable


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


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule ready for evaluation."""

    name: str
    to: str
    node: Node
    reason: str | None = None


def format_value(value: Any) -> str:
    """A value as it appears in a reason: numbers bare, strings quoted, lists bracketed."""
    if value is None or value is _MISSING:
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
    """The field's value, or ``_MISSING``; never raises (used by the slow path and ``exists``)."""
    try:
        value = _getter(field)(r)
    except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
        return _MISSING
    return _MISSING if value is None else value


def _numeric(field: str, op: str, b: Any) -> Test:
    """A comparison that holds, fails, or raises for a non-number or NaN (the request is unjudgeable)."""
    if op == "between":
        lo, hi = b
        get = _getter(field)

        def between(r: EvalRequest) -> bool:
            v = get(r)
            if v.__class__ in _NUM and v == v:
                return lo <= v <= hi
            raise _Unjudgeable

        return between
    cmp = _COMPARE[op]
    head, _, key = field.partition(".")
    if head == "input" and "." not in key:  # the common case, one call frame fewer

        def top_level(r: EvalRequest) -> bool:
            v = r.input[key]
            if v.__class__ in _NUM and v == v:
                return cmp(v, b)  # type: ignore[arg-type]  # a number: checked on the line above
            raise _Unjudgeable

        return top_level
    get = _getter(field)

    def nested(r: EvalRequest) -> bool:
        v = get(r)
        if v.__class__ in _NUM and v == v:
            return cmp(v, b)  # type: ignore[arg-type]  # a number: checked on the line above
        raise _Unjudgeable

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
        return lambda r: (_resolve(r, field) is not _MISSING) is want
    if op in _NUMERIC_OPS:
        if field == "confidence":
            return _confidence(op, arg)
        return _numeric(field, op, tuple(arg) if op == "between" else arg)
    get = _getter(field)

    def present(r: EvalRequest) -> Any:
        v = get(r)
        if v is None:
            raise _Unjudgeable
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
    if value is _MISSING:
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
            raise _Unjudgeable(_why_not(r, field, op)) from None

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
                v = _MISSING
            return prefix + (repr(v) if v.__class__ in _NUM else format_value(v)) + yes

    def explain(r: EvalRequest, held: bool) -> list[str]:  # type: ignore[no-redef]  # one explain per branch
        if held:
            return [describe(r)]
        try:
            v = get(r)
        except Exception:  # noqa: BLE001 (fail closed: evaluation never raises)
            v = _MISSING
        return [field + " " + (repr(v) if v.__class__ in _NUM else format_value(v)) + no]

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


def build_evaluator(
    ref: PolicyRef,
    rules: Sequence[CompiledRule],
    default: str,
    fail_closed_queue: str,
    outcomes: Sequence[str],
    *,
    generated: bool = True,
    index_min_rules: int | None = None,
) -> Callable[[EvalRequest], Route]:
    """Return ``evaluate(request) -> Route``: first matching rule wins; never raises.

    ``generated`` compiles the fast path to one function (``codegen``; ``index_min_rules`` for its
    bisects), else it walks the closures; both share the slow path and give equal routes.
    """
    known = frozenset(outcomes)
    listed = ", ".join(outcomes)
    pairs = tuple((rule.node.test, _hit(rule, ref)) for rule in rules)
    default_route = Route(default, "default", (f"no rule matched; default route '{default}'",), ref)

    def closed(reason: str) -> Route:
        return Route(fail_closed_queue, "fail_closed", (reason,), ref, failed_closed=True)

    def diagnose(r: EvalRequest) -> Route:
        """The slow path: find what could not be judged, and say so."""
        try:
            outcome = getattr(r, "outcome", _MISSING)
            if not isinstance(outcome, str) or outcome not in known:
                return closed(
                    f"outcome {format_value(outcome) if outcome is not _MISSING else 'missing'}"
                    f" is not one of the policy's outcomes ({listed})"
                )
            c = getattr(r, "confidence", _MISSING)
            if c.__class__ not in _NUM or not 0.0 <= c <= 1.0:  # type: ignore[operator]  # a number: its class was checked first
                shown = "missing" if c is _MISSING else format_value(c)
                return closed(f"confidence {shown} is not a number in [0, 1]: the request cannot be judged")
            for rule in rules:
                try:
                    if rule.node.checked(r):
                        return _hit(rule, ref)(r)
                except _Unjudgeable as exc:
                    return closed(f"{exc}: rule '{rule.name}' cannot be judged")
            return default_route
        except Exception as exc:  # the last line of defence: fail closed, never raise  # noqa: BLE001 (fail closed: evaluation never raises)
            return closed(f"evaluation error ({type(exc).__name__}): the request cannot be judged")

    if generated:
        specs = [
            RuleSpec(rule.name, rule.to, rule.node, rule.reason, hit)  # type: ignore[arg-type]  # Node is the shape codegen reads
            for rule, (_t, hit) in zip(rules, pairs, strict=True)
        ]
        options = {} if index_min_rules is None else {"index_min_rules": index_min_rules}
        return generate(specs, ref, default_route, known, diagnose, _bad, **options).evaluate

    def evaluate(r: EvalRequest) -> Route:
        try:
            c = r.confidence
            if r.outcome in known and c.__class__ in _NUM and 0.0 <= c <= 1.0:
                for test, hit in pairs:
                    if test(r):
                        return hit(r)
                return default_route
        except Exception:  # noqa: BLE001 (the slow path below says what went wrong)
            pass
        return diagnose(r)

    return evaluate


def _hit(rule: CompiledRule, ref: PolicyRef) -> Callable[[EvalRequest], Route]:
    """Build the route of a matched rule, with the reasons that made it match."""
    explain, describe, to, name, text = (rule.node.explain, rule.node.describe, rule.to, rule.name, rule.reason)
    if describe is not None:  # one predicate: no list, one tuple, no helper call

        def hit_one(r: EvalRequest) -> Route:
            result = _new(Route)
            _set_route(result, to)
            _set_rule(result, name)
            _set_reasons(result, (describe(r), text) if text else (describe(r),))
            _set_policy(result, ref)
            _set_failed(result, False)
            return result

        return hit_one

    def hit(r: EvalRequest) -> Route:
        reasons = explain(r, True)
        if text:
            reasons.append(text)
        return _route(to, name, tuple(reasons), ref, False)

    return hit


_new = object.__new__
_SLOTS: Any = Route  # the class's slot descriptors, read once (mypy sees only the instance fields)
_set_route, _set_rule, _set_reasons, _set_policy, _set_failed = (
    _SLOTS.route.__set__,
    _SLOTS.rule.__set__,
    _SLOTS.reasons.__set__,
    _SLOTS.policy.__set__,
    _SLOTS.failed_closed.__set__,
)


def _route(route: str, rule: str, reasons: tuple[str, ...], ref: PolicyRef, failed: bool) -> Route:
    """``Route(...)`` at half the cost: the same frozen value, its slots filled without ``__init__``."""
    result = _new(Route)
    _set_route(result, route)
    _set_rule(result, rule)
    _set_reasons(result, reasons)
    _set_policy(result, ref)
    _set_failed(result, failed)
    return result
