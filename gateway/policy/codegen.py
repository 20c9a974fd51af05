"""Generate one Python function per policy, so that a request costs no closure call per rule.

Why: the plain evaluator (``evaluator.py``) calls one closure per rule tried, one per reason and
one per ``Route`` field; on the auto path of ``claims-triage`` that is about a dozen calls for
four comparisons. The generated ``evaluate`` runs the same tests as straight-line code: each
rule's condition is one Python expression, consecutive threshold rules on one field may be one
``bisect`` (``index.py``), and the route of a single-predicate rule is built in place.

Safety: the source holds only operators and names made up here (``_k0``, ``_b3``). Every value
taken from the policy (field names, thresholds, lists, reason texts) is bound in the function's
namespace, never written into the source, so no policy text can become code.

Semantics: the expressions read the same fields, in the same order, with the same short-circuits
as the closures, and raise wherever a closure raises (a missing key, a non-number, NaN, null).
The caller catches that and runs the plain evaluator's slow path, which says what could not be
judged and fails closed. Raising where a closure would not is safe, never wrong: the slow path
then gives the closures' own answer (so ``type(v)`` may stand for the closures' ``v.__class__``,
which an object could fake). A condition nested deeper than ``MAX_DEPTH`` keeps its closure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from gateway.policy.index import INDEX_MIN_RULES, THRESHOLD_OPS, Threshold, build_index
from gateway.policy.model import EvalRequest, Route

__all__ = ["MAX_DEPTH", "GeneratedEvaluator", "RuleSpec", "generate", "route_builder_fields"]

MAX_DEPTH = 24
"""Deeper conditions call their compiled closure: Python's parser limits nesting."""

_NUMERIC = frozenset({"lt", "lte", "gt", "gte", "between"})
_OPERATOR = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_ROUTE_FIELDS = ("route", "rule", "reasons", "policy", "failed_closed")


class _Node(Protocol):
    """What the generator reads of a compiled condition (``evaluator.Node``)."""

    test: Callable[[EvalRequest], bool]
    describe: Callable[[EvalRequest], str] | None
    shape: tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule as the generator needs it: its condition, route, reason and the plain hit."""

    name: str
    to: str
    node: _Node
    reason: str | None
    hit: Callable[[EvalRequest], Route]
    """The plain evaluator's route builder for this rule, used for multi-predicate rules."""


@dataclasses.dataclass(frozen=True, slots=True)
class GeneratedEvaluator:
    """The generated function and the source it was compiled from (for reading and tests)."""

    evaluate: Callable[[EvalRequest], Route]
    source: str
    indexed_runs: int


class _RouteShell:
    """A mutable twin of ``Route`` with the same slots: filled with plain stores, then re-classed.

    ``__class__`` assignment between classes of the same slot layout is part of the language;
    setting five slots through ``STORE_ATTR`` and re-classing costs about half of five
    ``member_descriptor.__set__`` calls on a frozen ``Route``. The result is an ordinary
    ``Route``: same type, equality, hash, repr, and frozen from then on.
    """

    __slots__ = _ROUTE_FIELDS


def route_builder_fields() -> tuple[str, ...]:
    """The ``Route`` fields the generated code fills; a test checks they are all of them."""
    return _ROUTE_FIELDS


if tuple(f.name for f in dataclasses.fields(Route)) != _ROUTE_FIELDS or Route.__slots__ != _ROUTE_FIELDS:
    raise RuntimeError("Route's fields changed: update _ROUTE_FIELDS and the builder in gateway/policy/codegen.py")


class _Writer:
    """Collects source lines and the namespace their made-up names point to."""

    def __init__(self, bad: Callable[[], Any]) -> None:
        self.ns: dict[str, Any] = {
            "_bad": bad,
            "_Shell": _RouteShell,
            "_Route": Route,
            "_type": type,
            "_float": float,
            "_int": int,
            "Exception": Exception,
            "__builtins__": {},
        }
        self.lines: list[str] = []
        self.count = 0
        self.indexed = 0

    def bind(self, value: Any, stem: str) -> str:
        """A fresh name for ``value`` in the namespace."""
        self.count += 1
        name = f"_{stem}{self.count}"
        self.ns[name] = value
        return name

    def var(self) -> str:
        """A fresh local variable name."""
        self.count += 1
        return f"_v{self.count}"

    def getter(self, field: str) -> str:
        """The source reading ``field`` from ``r``, mirroring ``evaluator._getter`` exactly."""
        if field == "confidence":
            return "c"
        if field in ("outcome", "model"):
            return f"r.{field}"
        head, _, rest = field.partition(".")
        if head == "scores":
            return f"r.scores[{self.bind(rest, 'k')}]"
        return "r.input" + "".join(f"[{self.bind(key, 'k')}]" for key in rest.split("."))

    def numeric_value(self, field: str) -> tuple[str, str]:
        """(prelude, variable): read a numeric field once; the prelude raises unless it is a number.

        ``confidence`` needs no check: ``evaluate`` accepted it as a number in [0, 1] already.
        """
        if field == "confidence":
            return "", "c"
        v = self.var()
        return (
            f"(((_t := _type({v} := {self.getter(field)})) is _float or _t is _int) and {v} == {v} or _bad()) and "
        ), v

    def number(self, value: Any) -> str:
        """Bind a threshold; an int that a float holds exactly is bound as that float.

        Python compares int and float exactly, so ``v < 50000`` and ``v < 50000.0`` agree for
        every number ``v``; the float form takes CPython's specialised float-float comparison.
        """
        if value.__class__ is int:
            try:
                as_float = float(value)
            except OverflowError:
                as_float = None
            if as_float is not None and as_float == value:
                value = as_float
        return self.bind(value, "b")

    def expr(self, node: _Node, depth: int = 0) -> tuple[str, str | None]:
        """(source, value variable): the condition as one expression; the variable for reasons."""
        shape = node.shape
        if not shape or depth > MAX_DEPTH:
            return f"{self.bind(node.test, 't')}(r)", None
        kind = shape[0]
        if kind in ("all", "any"):
            parts = [self.expr(p, depth + 1)[0] for p in shape[1]]
            if not parts:
                return ("True" if kind == "all" else "False"), None
            return "(" + f" {'and' if kind == 'all' else 'or'} ".join(parts) + ")", None
        if kind == "not":
            return f"(not {self.expr(shape[1], depth + 1)[0]})", None
        _, field, op, arg, _prefix, _yes = shape
        if op in _NUMERIC:
            prelude, v = self.numeric_value(field)
            if op == "between":
                lo, hi = arg
                test = f"{self.number(lo)} <= {v} <= {self.number(hi)}"
            else:
                test = f"{v} {_OPERATOR[op]} {self.number(arg)}"
            return f"({prelude}{test})", v
        if op in ("eq", "ne", "in", "not_in"):
            v = self.var()
            present = f"(({v} := {self.getter(field)}) is not None or _bad())"
            if op in ("eq", "ne"):
                test = f"{v} {'==' if op == 'eq' else '!='} {self.bind(arg, 'a')}"
            else:
                test = f"{v} {'in' if op == 'in' else 'not in'} {self.bind(frozenset(arg), 'm')}"
            return f"({present} and {test})", v
        return f"{self.bind(node.test, 't')}(r)", None  # exists: rare, keeps its closure

    def route(self, indent: str, rule: RuleSpec, reasons: str, ref: str) -> None:
        """Emit the building and return of a rule's ``Route``."""
        self.lines += [
            f"{indent}_o = _Shell()",
            f"{indent}_o.route = {self.bind(rule.to, 's')}",
            f"{indent}_o.rule = {self.bind(rule.name, 's')}",
            f"{indent}_o.reasons = {reasons}",
            f"{indent}_o.policy = {ref}",
            f"{indent}_o.failed_closed = False",
            f"{indent}_o.__class__ = _Route",
            f"{indent}return _o",
        ]

    def hit(self, indent: str, rule: RuleSpec, value: str | None, ref: str) -> None:
        """Emit what a matched rule returns: reasons built in place when it is one predicate."""
        shape = rule.node.shape
        text = f", {self.bind(rule.reason, 's')}" if rule.reason else ","
        if shape and shape[0] == "leaf" and shape[2] in _NUMERIC and value is not None:
            prefix, yes = shape[4], shape[5]
            said = f"f'{{{self.bind(prefix, 's')}}}{{{value}!r}}{{{self.bind(yes, 's')}}}'"
            self.route(indent, rule, f"({said}{text})", ref)
        elif rule.node.describe is not None:
            self.route(indent, rule, f"({self.bind(rule.node.describe, 'd')}(r){text})", ref)
        else:
            self.lines.append(f"{indent}return {self.bind(rule.hit, 'h')}(r)")


def _threshold(rule: RuleSpec) -> Threshold | None:
    """The rule as one numeric threshold on one field, or None."""
    shape = rule.node.shape
    if shape and shape[0] == "leaf" and shape[2] in THRESHOLD_OPS:
        return Threshold(shape[1], shape[2], shape[3])
    return None


def _runs(rules: Sequence[RuleSpec]) -> list[tuple[int, int]]:
    """(start, stop) of each maximal run of consecutive threshold rules on one field."""
    runs, i = [], 0
    while i < len(rules):
        first = _threshold(rules[i])
        j = i + 1
        while first is not None and j < len(rules):
            nxt = _threshold(rules[j])
            if nxt is None or nxt.field != first.field:
                break
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _emit_index(w: _Writer, rules: Sequence[RuleSpec], ref: str, start: int, stop: int) -> bool:
    """Emit one bisect for rules[start:stop]; False when their thresholds cannot be indexed.

    Each region's entry holds what the deciding rule's route needs (route, name, the reason's
    words around the value, the rule's reason text), so the route is built in place, no call.
    """
    run = rules[start:stop]
    index = build_index([t for t in map(_threshold, run) if t is not None])
    if index is None or not index.keys:
        return False
    w.indexed += 1
    value = "c" if index.field == "confidence" else "_x"
    entries = []
    for position in index.table:
        rule = None if position is None else run[position]
        entries.append(
            None if rule is None else (rule.to, rule.name, rule.node.shape[4], rule.node.shape[5], rule.reason or None)
        )
    table = w.bind(tuple(entries), "x")
    keys, padded, bisect = w.bind(index.keys, "x"), w.bind(index.padded, "x"), w.bind(index.bisect, "f")
    if value == "_x":  # read once; raise, as the run's first rule would, unless it is a number
        w.lines += [
            f"            _x = {w.getter(index.field)}",
            "            if ((_t := _type(_x)) is not _float and _t is not _int) or _x != _x:",
            "                _bad()",
        ]
    said = f"f'{{_p}}{{{value}!r}}{{_y}}'"
    w.lines += [
        f"            _e = {table}[2 * (_i := {bisect}({keys}, {value})) + ({padded}[_i] == {value})]",
        "            if _e is not None:",
        "                _o = _Shell()",
        "                _o.route, _o.rule, _p, _y, _t = _e",
        f"                _o.reasons = ({said}, _t) if _t is not None else ({said},)",
        f"                _o.policy = {ref}",
        "                _o.failed_closed = False",
        "                _o.__class__ = _Route",
        "                return _o",
    ]
    return True


def generate(
    rules: Sequence[RuleSpec],
    ref: Any,
    default_route: Route,
    known: frozenset[str],
    diagnose: Callable[[EvalRequest], Route],
    bad: Callable[[], Any],
    *,
    index_min_rules: int = INDEX_MIN_RULES,
) -> GeneratedEvaluator:
    """Compile the rules into one ``evaluate(request) -> Route``; same answers as the closures.

    Runs of at least ``index_min_rules`` threshold rules on one field become one bisect.
    """
    w = _Writer(bad)
    r_ref, r_known = w.bind(ref, "p"), w.bind(known, "o")
    w.ns.update(_default=default_route, _diagnose=diagnose)
    w.lines += [
        "def evaluate(r):",
        "    try:",
        "        c = r.confidence",
        f"        if r.outcome in {r_known} and ((_t := _type(c)) is _float or _t is _int) and 0.0 <= c <= 1.0:",
    ]
    for start, stop in _runs(rules):
        if stop - start >= index_min_rules and _emit_index(w, rules, r_ref, start, stop):
            continue
        for rule in rules[start:stop]:
            test, value = w.expr(rule.node)
            w.lines.append(f"            if {test}:")
            w.hit("                ", rule, value, r_ref)
    w.lines += [
        "            return _default",
        "    except Exception:",
        "        pass",
        "    return _diagnose(r)",
    ]
    source = "\n".join(w.lines) + "\n"
    code: dict[str, Any] = {}
    exec(compile(source, f"<policy {getattr(ref, 'name', '?')}>", "exec"), w.ns, code)
    return GeneratedEvaluator(code["evaluate"], source, w.indexed)
