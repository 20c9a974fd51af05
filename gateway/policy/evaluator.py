"""Turn validated rule conditions into closures and evaluate requests against them.

Pure: stdlib only, no clock, file or logger. The fast path runs plain closures and formats no
string for rules that do not match; reasons are built only for the rule that decides. Anything
unexpected (a missing field, a value of the wrong type, NaN) makes a closure raise, and the
slow path then walks the rules again to say which field of which rule could not be judged. The
result of that is always the fail-closed queue, never ``auto``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.policy.codegen import RuleSpec, generate
from gateway.policy.conditions import MISSING, NUMBER, Node, Unjudgeable, bad, compile_condition, format_value
from gateway.policy.model import EvalRequest, PolicyRef, Route

__all__ = ["CompiledRule", "Node", "build_evaluator", "compile_condition", "format_value"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule ready for evaluation."""

    name: str
    to: str
    node: Node
    reason: str | None = None


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
            outcome = getattr(r, "outcome", MISSING)
            if not isinstance(outcome, str) or outcome not in known:
                return closed(
                    f"outcome {format_value(outcome) if outcome is not MISSING else 'missing'}"
                    f" is not one of the policy's outcomes ({listed})"
                )
            c = getattr(r, "confidence", MISSING)
            if c.__class__ not in NUMBER or not 0.0 <= c <= 1.0:  # type: ignore[operator]  # a number: its class was checked first
                shown = "missing" if c is MISSING else format_value(c)
                return closed(f"confidence {shown} is not a number in [0, 1]: the request cannot be judged")
            for rule in rules:
                try:
                    if rule.node.checked(r):
                        return _hit(rule, ref)(r)
                except Unjudgeable as exc:
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
        return generate(specs, ref, default_route, known, diagnose, bad, **options).evaluate

    def evaluate(r: EvalRequest) -> Route:
        try:
            c = r.confidence
            if r.outcome in known and c.__class__ in NUMBER and 0.0 <= c <= 1.0:
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
