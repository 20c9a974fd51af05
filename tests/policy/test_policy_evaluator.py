"""The evaluator: operators, combinators, rule order, reasons, and failing closed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from gateway.policy import AUTO, EvalRequest, Route, load_policy_text
from gateway.policy.canonical import canonical_json
from tests.policy.conftest import policy_doc


def route_for(when: dict[str, Any], request: EvalRequest, **changes: Any) -> Route:
    """Evaluate one request against a policy whose only rule is ``when -> senior``."""
    doc = policy_doc(rules=[{"name": "only", "when": when, "to": "senior"}], **changes)
    return load_policy_text(canonical_json(doc).decode(), "t.yaml").evaluate(request)


def req(confidence: float = 0.9, outcome: str = "approve", **data: Any) -> EvalRequest:
    """A request with the given input fields."""
    return EvalRequest(input=data, outcome=outcome, confidence=confidence, scores={"fraud": 0.3}, model="m-2")


def matches(when: dict[str, Any], request: EvalRequest) -> bool:
    """True when the single rule matched (rather than the default)."""
    return route_for(when, request).rule == "only"


class TestOperators:
    """Each operator, on a value where it holds and one where it does not."""

    @pytest.mark.parametrize(
        ("op", "arg", "yes", "no"),
        [
            ("lt", 10, 9, 10),
            ("lte", 10, 10, 11),
            ("gt", 10, 11, 10),
            ("gte", 10, 10, 9),
            ("eq", 10, 10, 11),
            ("ne", 10, 11, 10),
            ("in", [1, 2], 2, 3),
            ("not_in", [1, 2], 3, 2),
            ("between", [5, 10], 10, 11),
        ],
    )
    def test_operator_on_input(self, op, arg, yes, no):
        """The operator holds for ``yes`` and not for ``no``."""
        when = {"input.amount": {op: arg}}
        assert (matches(when, req(amount=yes)), matches(when, req(amount=no))) == (True, False)

    def test_between_includes_lower_end(self):
        """between is inclusive at the low end too."""
        assert matches({"input.amount": {"between": [5, 10]}}, req(amount=5))

    def test_exists_true(self):
        """exists: true holds for a present field."""
        assert matches({"input.region": {"exists": True}}, req(amount=1, region="eu"))

    def test_exists_false_is_satisfied_by_absence(self):
        """exists: false holds for an absent field, and does not fail closed."""
        route = route_for({"input.region": {"exists": False}}, req(amount=1))
        assert (route.rule, route.failed_closed) == ("only", False)

    def test_exists_treats_null_as_absent(self):
        """A null value does not exist."""
        assert matches({"input.region": {"exists": False}}, req(amount=1, region=None))

    def test_several_ops_must_all_hold(self):
        """Several operators on one field are a conjunction."""
        when = {"confidence": {"gt": 0.5, "lt": 0.7}}
        assert (matches(when, req(0.6)), matches(when, req(0.8))) == (True, False)

    def test_exists_guards_an_optional_field(self):
        """exists: true before a comparison means 'if given': absence is no match, not fail closed."""
        route = route_for({"input.region": {"exists": True, "eq": "eu"}}, req(amount=1))
        assert (route.rule, route.failed_closed) == ("default", False)

    def test_outcome_field(self):
        """outcome predicates read the proposal's outcome."""
        assert matches({"outcome": {"eq": "deny"}}, req(outcome="deny"))

    def test_model_field(self):
        """model predicates read the model name."""
        assert matches({"model": {"in": ["m-2"]}}, req())

    def test_scores_field(self):
        """scores.<label> reads one score."""
        assert matches({"scores.fraud": {"lt": 0.5}}, req())

    def test_nested_input_path(self):
        """input.a.b follows nested objects."""
        assert matches({"input.applicant.age": {"gte": 70}}, req(amount=1, applicant={"age": 71}))


class TestCombinators:
    """all, any and not."""

    def test_all(self):
        """all holds when every child holds."""
        when = {"all": [{"confidence": {"gt": 0.5}}, {"outcome": {"eq": "deny"}}]}
        assert (matches(when, req(0.6, "deny")), matches(when, req(0.6, "approve"))) == (True, False)

    def test_any(self):
        """any holds when one child holds."""
        when = {"any": [{"confidence": {"lt": 0.5}}, {"outcome": {"eq": "deny"}}]}
        assert (matches(when, req(0.9, "deny")), matches(when, req(0.9, "approve"))) == (True, False)

    def test_not(self):
        """not inverts its condition."""
        when = {"not": {"outcome": {"eq": "deny"}}}
        assert (matches(when, req(outcome="approve")), matches(when, req(outcome="deny"))) == (True, False)

    def test_nested(self):
        """Combinators nest."""
        when = {
            "all": [
                {"not": {"any": [{"outcome": {"eq": "deny"}}, {"confidence": {"lt": 0.5}}]}},
                {"input.amount": {"gt": 3}},
            ]
        }
        assert matches(when, req(0.9, "approve", amount=4))


class TestRuleOrder:
    """First match wins; no match goes to the default route."""

    def test_first_match_wins(self):
        """A request matching two rules takes the first."""
        route = route_for({"confidence": {"gt": 0.1}}, req(0.9, amount=5000))
        assert route.rule == "only"

    def test_earlier_rule_beats_later(self, write):
        """In the base policy a large amount goes to senior even at high confidence."""
        policy = load_policy_text(canonical_json(policy_doc()).decode(), "t.yaml")
        route = policy.evaluate(req(0.99, amount=5000))
        assert (route.route, route.rule) == ("senior", "big")

    def test_default_route(self):
        """No matching rule: the default route, rule 'default', with a reason saying so."""
        route = route_for({"confidence": {"lt": 0.1}}, req(0.9))
        assert (route.route, route.rule, route.reasons) == (
            "junior",
            "default",
            ("no rule matched; default route 'junior'",),
        )

    def test_route_names_the_policy(self):
        """Every route carries the policy name, version and digest."""
        route = route_for({"confidence": {"lt": 0.1}}, req(0.9))
        assert (route.policy.name, route.policy.version, len(route.policy.digest)) == ("loans", 1, 64)


class TestReasons:
    """Reasons carry the values that decided."""

    def test_reason_shows_value_and_threshold(self):
        """A matched comparison reads 'confidence 0.81 < 0.92'."""
        assert route_for({"confidence": {"lt": 0.92}}, req(0.81)).reasons == ("confidence 0.81 < 0.92",)

    def test_reason_for_input(self):
        """Input reasons name the path and the value."""
        route = route_for({"input.amount": {"gte": 50000}}, req(amount=62000))
        assert route.reasons == ("input.amount 62000 >= 50000",)

    def test_rule_reason_text_is_appended(self):
        """The rule's own reason text follows the predicate reasons."""
        doc = policy_doc(
            rules=[{"name": "r", "when": {"confidence": {"lt": 0.5}}, "to": "senior", "reason": "Unsure."}]
        )
        route = load_policy_text(canonical_json(doc).decode(), "t").evaluate(req(0.3))
        assert route.reasons == ("confidence 0.3 < 0.5", "Unsure.")

    def test_all_lists_each_predicate(self):
        """A matched conjunction lists every predicate that held."""
        when = {"all": [{"confidence": {"gt": 0.5}}, {"outcome": {"in": ["deny"]}}]}
        assert route_for(when, req(0.6, "deny")).reasons == ("confidence 0.6 > 0.5", "outcome 'deny' in ['deny']")

    def test_not_gives_negated_reason(self):
        """A matched 'not' shows the negated comparison."""
        assert route_for({"not": {"confidence": {"lt": 0.5}}}, req(0.7)).reasons == ("confidence 0.7 >= 0.5",)

    def test_any_lists_the_branch_that_held(self):
        """A matched 'any' shows the branch that held."""
        when = {"any": [{"confidence": {"lt": 0.5}}, {"input.amount": {"gt": 10}}]}
        assert route_for(when, req(0.9, amount=11)).reasons == ("input.amount 11 > 10",)


class TestFailClosed:
    """A request the policy cannot judge goes to the fail-closed queue, never to auto."""

    def test_missing_field(self):
        """A missing input field fails closed, naming the field and the rule."""
        route = route_for({"input.amount": {"gte": 5}}, req())
        assert (route.route, route.rule, route.failed_closed, route.reasons) == (
            "senior",
            "fail_closed",
            True,
            ("input.amount is missing: rule 'only' cannot be judged",),
        )

    def test_wrong_type(self):
        """A string where a number is compared fails closed."""
        route = route_for({"input.amount": {"gte": 5}}, req(amount="5"))
        assert route.failed_closed and "input.amount '5' is a str" in route.reasons[0]

    def test_boolean_is_not_a_number(self):
        """true is not a number for a comparison, even though Python says True == 1."""
        assert route_for({"input.amount": {"gte": 1}}, req(amount=True)).failed_closed

    def test_nan_input_fails_closed(self):
        """NaN compares false both ways: it cannot be judged."""
        assert route_for({"input.amount": {"lt": 5}}, req(amount=math.nan)).failed_closed

    @pytest.mark.parametrize("confidence", [math.nan, math.inf, -0.1, 1.5, "high", None])
    def test_bad_confidence(self, confidence):
        """A confidence that is not a number in [0, 1] fails closed."""
        route = route_for({"confidence": {"gt": 0.5}}, req(confidence))
        assert (route.failed_closed, route.route) == (True, "senior")

    def test_unlisted_outcome(self):
        """An outcome the policy does not list fails closed."""
        route = route_for({"confidence": {"gt": 0.5}}, req(outcome="escalate"))
        assert route.failed_closed and "escalate" in route.reasons[0]

    def test_never_auto_even_when_rule_would_be_auto(self):
        """A rule that routes to auto cannot be reached through a field it cannot judge."""
        doc = policy_doc(rules=[{"name": "a", "when": {"input.amount": {"lt": 100}}, "to": "auto"}], default="auto")
        route = load_policy_text(canonical_json(doc).decode(), "t").evaluate(req(0.99))
        assert (route.route, route.failed_closed) == ("senior", True)
        assert route.route != AUTO

    def test_missing_field_after_a_match_does_not_matter(self):
        """A rule that is never reached does not need its fields."""
        doc = policy_doc(
            rules=[
                {"name": "a", "when": {"confidence": {"gt": 0.5}}, "to": "junior"},
                {"name": "b", "when": {"input.amount": {"gt": 1}}, "to": "senior"},
            ]
        )
        route = load_policy_text(canonical_json(doc).decode(), "t").evaluate(req(0.9))
        assert route.rule == "a"

    def test_input_not_a_mapping(self):
        """An input that is not an object fails closed instead of raising."""
        request = EvalRequest(input=None, outcome="approve", confidence=0.9)  # type: ignore[arg-type]
        assert route_for({"input.amount": {"gt": 1}}, request).failed_closed

    def test_unhashable_value_for_in(self):
        """A list value tested with 'in' fails closed instead of raising."""
        assert route_for({"input.region": {"in": ["eu"]}}, req(amount=1, region=["eu"])).failed_closed
