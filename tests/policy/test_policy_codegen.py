"""The generated evaluator and the rule index give exactly the plain closures' routes and reasons."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.policy import EvalRequest, PolicyRef, Route, load_policy
from gateway.policy.codegen import MAX_DEPTH, RuleSpec, generate, route_builder_fields
from gateway.policy.compiler import fail_closed_queue
from gateway.policy.evaluator import CompiledRule, build_evaluator, compile_condition
from gateway.policy.index import INDEX_MIN_RULES, Threshold, build_index, region
from tests.policy.conftest import POLICIES
from tests.policy.test_policy_properties import requests as shipped_requests

REF = PolicyRef("random", 1, "0" * 64)
SHIPPED = {name: load_policy(POLICIES / name) for name in ("claims-triage.yaml", "content-moderation.yaml")}
OUTCOMES = ("approve", "deny")
Rules = list[tuple[str, dict[str, Any], str, str | None]]


FORCE_INDEX = 4
"""Runs this long are indexed in these tests, far below the default, so that short random runs exercise the bisect."""


def both(rules: Rules, index_min_rules: int | None = FORCE_INDEX) -> tuple[Callable[[EvalRequest], Route], ...]:
    """The plain and the generated evaluator of the same rules."""
    compiled = [CompiledRule(name, to, compile_condition(when), reason) for name, when, to, reason in rules]
    plain = build_evaluator(REF, compiled, "junior", "senior", OUTCOMES, generated=False)
    return plain, build_evaluator(REF, compiled, "junior", "senior", OUTCOMES, index_min_rules=index_min_rules)


def source_of(rules: Rules, index_min_rules: int = FORCE_INDEX) -> Any:
    """The generator's output for the rules (its source and how many runs it indexed)."""
    compiled = [CompiledRule(name, to, compile_condition(when), reason) for name, when, to, reason in rules]
    default = Route("junior", "default", ("d",), REF)
    specs = [RuleSpec(r.name, r.to, r.node, r.reason, lambda _r: default) for r in compiled]
    return generate(
        specs, REF, default, frozenset(OUTCOMES), lambda _r: default, lambda: 1 / 0, index_min_rules=index_min_rules
    )


# Random policies: conditions over a few fields, with every operator and combinator.
FIELDS = [
    "confidence",
    "outcome",
    "model",
    "scores.fraud",
    "input.amount",
    "input.region",
    "input.applicant.age",
    "input.tags",
]
numbers = st.one_of(st.integers(-5, 5), st.floats(-2, 2, allow_nan=False), st.sampled_from([0.7, 0.92, 1e6, 2**60]))
scalars = st.one_of(numbers, st.sampled_from(["eu", "us", "approve", "deny", "m-1", ""]), st.booleans(), st.none())
leaf = st.one_of(
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["lt", "lte", "gt", "gte"]), numbers),
    st.tuples(st.sampled_from(FIELDS), st.just("between"), st.tuples(numbers, numbers).map(sorted)),
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["eq", "ne"]), scalars),
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(["in", "not_in"]), st.lists(scalars, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(FIELDS), st.just("exists"), st.booleans()),
).map(lambda t: {t[0]: {t[1]: list(t[2]) if isinstance(t[2], tuple) else t[2]}})
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"all": cs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: {"any": cs}),
        inner.map(lambda c: {"not": c}),
        st.tuples(inner, inner).map(lambda p: {**p[0], **p[1]}),
    ),
    max_leaves=6,
)
threshold_rule = st.tuples(st.sampled_from(["lt", "lte", "gt", "gte", "between"]), numbers, numbers).map(
    lambda t: {"between": sorted(t[1:])} if t[0] == "between" else {t[0]: t[1]}
)


@st.composite
def random_rules(draw: st.DrawFn) -> Rules:
    """Rules mixing free conditions with runs of threshold rules on one field (what the index takes)."""
    rules: Rules = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            field = draw(st.sampled_from(["confidence", "input.amount", "scores.fraud", "input.applicant.age"]))
            for when in draw(st.lists(threshold_rule, min_size=FORCE_INDEX, max_size=8)):
                rules.append(
                    (
                        f"r{len(rules)}",
                        {field: when},
                        draw(st.sampled_from(["auto", "junior"])),
                        draw(st.sampled_from([None, "band"])),
                    )
                )
        else:
            rules.append(
                (
                    f"r{len(rules)}",
                    draw(conditions),
                    draw(st.sampled_from(["auto", "senior"])),
                    draw(st.sampled_from([None, "why"])),
                )
            )
    return rules


odd = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 2**62),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
value = st.one_of(numbers, numbers, numbers, scalars, odd)
field_values = st.fixed_dictionaries(
    {},
    optional={
        "amount": value,
        "region": value,
        "tags": value,
        "applicant": st.one_of(st.fixed_dictionaries({}, optional={"age": value}), odd),
    },
)
random_requests = st.builds(
    EvalRequest,
    input=st.one_of(field_values, field_values, odd),
    outcome=st.one_of(*[st.sampled_from(OUTCOMES)] * 4, st.sampled_from(["other", ""]), st.none(), st.integers()),
    confidence=st.one_of(
        st.floats(0, 1),
        st.floats(0, 1),
        *[st.sampled_from([0.0, 0.7, 0.92, 1.0, 0, 1])] * 2,
        st.floats(allow_nan=True, allow_infinity=True),
        st.none(),
        st.text(max_size=2),
        st.booleans(),
    ),
    scores=st.one_of(st.fixed_dictionaries({}, optional={"fraud": value}), st.none()),
    model=st.one_of(st.sampled_from(["m-1", "m-2"]), st.none(), st.integers()),
)


def _numbers_in(when: Any) -> list[Any]:
    """Every int or float argument in a condition."""
    if isinstance(when, dict):
        return [n for v in when.values() for n in _numbers_in(v)]
    if isinstance(when, list):
        return [n for v in when for n in _numbers_in(v)]
    return [when] if when.__class__ in (int, float) else []


def boundary_requests(rules: Rules) -> list[EvalRequest]:
    """Requests at, just below, just above and between the rules' thresholds, on every numeric field."""
    points = sorted({n for _name, when, _to, _r in rules for n in _numbers_in(when) if not math.isnan(n)})
    values = set(points) | {(a + b) / 2 for a, b in zip(points, points[1:], strict=False)}
    values |= {math.nextafter(p, d) for p in points for d in (-math.inf, math.inf) if math.isfinite(p)}
    requests = []
    for v in sorted(values):
        requests.append(
            EvalRequest({"amount": v, "applicant": {"age": v}}, "approve", v if 0 <= v <= 1 else 0.5, {"fraud": v})
        )
    return requests


class TestGeneratedAgreesWithPlain:
    """Same rules, same request: the generated and the plain evaluator return equal routes."""

    @settings(max_examples=600, deadline=None)
    @given(rules=random_rules(), batch=st.lists(random_requests, min_size=1, max_size=8))
    @example(
        rules=[("r0", {"input.amount": {"gte": 5}}, "auto", None)],
        batch=[
            EvalRequest({"amount": math.nan}, "approve", 0.5),
            EvalRequest({}, "approve", 0.5),
            EvalRequest({"amount": "7"}, "approve", 0.5),
            EvalRequest({"amount": True}, "approve", 0.5),
        ],
    )
    def test_random_policies_and_requests(self, rules, batch):
        """Random rules (missing fields, wrong types, NaN included) route every request the same way."""
        plain, indexed = both(rules)
        _plain, inline = both(rules, index_min_rules=None)
        batch = batch + boundary_requests(rules)
        expected = [plain(r) for r in batch]
        assert [indexed(r) for r in batch] == expected and [inline(r) for r in batch] == expected

    @pytest.mark.parametrize("name", ["claims-triage.yaml", "content-moderation.yaml"])
    @settings(max_examples=300, deadline=None)
    @given(request=shipped_requests)
    def test_shipped_policies(self, name, request):
        """The shipped policies' generated evaluators agree with the plain ones on random requests."""
        policy = SHIPPED[name]
        assert policy.evaluate(request) == PLAIN[name](request)

    def test_a_difference_would_be_seen(self):
        """A generated evaluator of other rules disagrees on some request: the comparison can fail."""
        _plain, generated = both([("r0", {"input.amount": {"gte": 5}}, "auto", None)])
        plain_other, _generated = both([("r0", {"input.amount": {"gt": 5}}, "auto", None)])
        request = EvalRequest({"amount": 5}, "approve", 0.5)
        assert generated(request) != plain_other(request)


def _plain_of(policy: Any) -> Callable[[EvalRequest], Route]:
    """The plain evaluator of a loaded policy's document."""
    doc = yaml.safe_load(policy.source_text)
    compiled = [CompiledRule(r["name"], r["to"], compile_condition(r["when"]), r.get("reason")) for r in doc["rules"]]
    return build_evaluator(
        policy.ref, compiled, doc["default"], fail_closed_queue(doc), doc["outcomes"], generated=False
    )


PLAIN = {name: _plain_of(policy) for name, policy in SHIPPED.items()}


class TestGeneratedSource:
    """The generated source holds names, never policy text."""

    def test_policy_text_never_reaches_the_source(self):
        """Field names, values and reasons that look like code stay data and still route correctly."""
        trap = "x'] or __import__('os') #"
        rules: Rules = [("r0", {f"input.{trap}": {"eq": trap}}, "auto", trap)]
        source = source_of(rules).source
        plain, generated = both(rules)
        request = EvalRequest({trap: trap}, "approve", 0.5)
        assert trap not in source and "import" not in source
        assert generated(request) == plain(request) and generated(request).rule == "r0"

    def test_deep_conditions_keep_their_closures(self):
        """A condition nested past MAX_DEPTH compiles (its depths call closures) and agrees with plain."""
        when: dict[str, Any] = {"input.amount": {"gt": 1}}
        for _ in range(MAX_DEPTH * 3):
            when = {"not": {"not": when}}
        plain, generated = both([("deep", when, "auto", None)])
        requests = [EvalRequest({"amount": a}, "approve", 0.5) for a in (0, 2, None, "x")]
        assert [generated(r) for r in requests] == [plain(r) for r in requests]


class TestRouteShell:
    """Routes built by the generated code are ordinary frozen ``Route`` values."""

    def test_builder_fills_every_field(self):
        """The builder's fields are exactly Route's fields."""
        assert route_builder_fields() == tuple(f.name for f in dataclasses.fields(Route))

    def test_built_route_is_a_frozen_route(self):
        """A generated route has Route's type, equality and hash, and refuses assignment."""
        _plain, generated = both([("r0", {"confidence": {"gt": 0.5}}, "auto", "sure")])
        route = generated(EvalRequest({}, "approve", 0.75))
        expected = Route("auto", "r0", ("confidence 0.75 > 0.5", "sure"), REF)
        assert (type(route), route, hash(route)) == (Route, expected, hash(expected))
        with pytest.raises(dataclasses.FrozenInstanceError):
            route.route = "senior"  # type: ignore[misc]


class TestIndex:
    """Consecutive threshold rules on one field are answered by one bisect."""

    BANDS: Rules = [
        ("b0", {"confidence": {"lt": 0.3}}, "senior", None),
        ("b1", {"confidence": {"lte": 0.5}}, "junior", "low"),
        ("b2", {"confidence": {"between": [0.5, 0.6]}}, "senior", None),
        ("b3", {"confidence": {"gt": 0.9}}, "auto", "sure"),
        ("b4", {"confidence": {"gte": 0.6}}, "junior", None),
    ]

    def test_regions_name_the_first_rule_that_holds(self):
        """Below, at and between the thresholds, the table names the rule first-match would pick."""
        index = build_index(
            [Threshold("confidence", op, arg) for _n, w, _t, _r in self.BANDS for op, arg in w["confidence"].items()]
        )
        assert index is not None
        picked = {v: index.table[region(index, v)] for v in (0.1, 0.3, 0.4, 0.5, 0.55, 0.6, 0.75, 0.9, 0.95)}
        assert picked == {0.1: 0, 0.3: 1, 0.4: 1, 0.5: 1, 0.55: 2, 0.6: 2, 0.75: 4, 0.9: 4, 0.95: 3}

    def test_a_band_policy_is_indexed_and_agrees(self):
        """The banded rules compile to one bisect and route every boundary value as plain does."""
        plain, generated = both(self.BANDS)
        values = [0, 0.0, 0.3, 0.5, 0.6, 0.9, 1, math.nextafter(0.5, 0), math.nextafter(0.5, 1), 0.77]
        requests = [EvalRequest({}, "approve", v) for v in values]
        assert source_of(self.BANDS).indexed_runs == 1
        assert [generated(r) for r in requests] == [plain(r) for r in requests]

    def test_input_field_band_fails_closed_on_bad_values(self):
        """An indexed band on an input field fails closed, as plain does, on a missing, text or NaN value."""
        rules = [(n, {"input.amount": w["confidence"]}, t, r) for n, w, t, r in self.BANDS]
        plain, generated = both(rules)
        requests = [
            EvalRequest(data, "approve", 0.5)
            for data in ({}, {"amount": "1"}, {"amount": math.nan}, {"amount": math.inf}, {"amount": 0.55})
        ]
        assert source_of(rules).indexed_runs == 1
        assert [generated(r) for r in requests] == [plain(r) for r in requests]
        assert [generated(r).failed_closed for r in requests] == [True, True, True, False, False]

    @pytest.mark.parametrize("bad", [True, math.nan, "1"])
    def test_non_numbers_are_not_indexed(self, bad):
        """A bool, NaN or text threshold leaves the run to the rule-by-rule code."""
        assert build_index([Threshold("confidence", "lt", 0.5), Threshold("confidence", "gt", bad)]) is None

    def test_short_runs_stay_inline(self):
        """Runs shorter than the minimum are compared one by one; by default that is every run of claims-triage."""
        assert source_of(self.BANDS[: FORCE_INDEX - 1]).indexed_runs == 0
        assert source_of(self.BANDS, index_min_rules=INDEX_MIN_RULES).indexed_runs == 0

    def test_a_long_band_is_indexed_by_default(self):
        """A run of INDEX_MIN_RULES threshold rules is one bisect without any override, and agrees."""
        rules: Rules = [(f"b{i}", {"input.amount": {"lt": i * 10}}, "auto", None) for i in range(INDEX_MIN_RULES)]
        plain, generated = both(rules, index_min_rules=None)
        requests = [EvalRequest({"amount": a}, "approve", 0.5) for a in (-1, 0, 5, 10, 155, 310, 10**6)]
        assert source_of(rules, index_min_rules=INDEX_MIN_RULES).indexed_runs == 1
        assert [generated(r) for r in requests] == [plain(r) for r in requests]
