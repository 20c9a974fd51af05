"""Property tests: random requests never make the evaluator raise or route anywhere undeclared."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy import AUTO, EvalRequest, load_policy
from tests.policy.conftest import POLICIES

POLICY_FILES = [load_policy(POLICIES / name) for name in ("claims-triage.yaml", "content-moderation.yaml")]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
known_keys = st.sampled_from(["amount", "claim_type", "reports", "author", "post_id", "surface"])
inputs = st.one_of(
    st.dictionaries(known_keys, values, max_size=5),
    st.dictionaries(known_keys, st.one_of(st.floats(min_value=0, max_value=1e6), st.integers(0, 10**6)), max_size=5),
    st.dictionaries(st.just("author"), st.dictionaries(st.just("prior_strikes"), values, max_size=1), max_size=1),
    values,
)
confidences = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1), st.integers(-2, 2), st.none(), st.text(max_size=3)
)
outcomes = st.one_of(
    st.sampled_from(["approve", "deny", "partial", "allow", "remove", "restrict"]),
    st.text(max_size=5),
    st.none(),
    st.integers(),
)
scores = st.one_of(st.dictionaries(st.text(max_size=5), st.floats(allow_nan=True)), st.none())
requests = st.builds(
    EvalRequest,
    input=inputs,
    outcome=outcomes,
    confidence=confidences,
    scores=scores,
    model=st.one_of(st.text(max_size=5), st.none()),
)


class TestEvaluatorProperties:
    """Whatever the request, evaluation answers with a declared route."""

    @settings(max_examples=400, deadline=None)
    @given(request=requests, which=st.integers(0, len(POLICY_FILES) - 1))
    def test_never_raises_and_routes_to_auto_or_a_declared_queue(self, request, which):
        """Evaluation never raises and always gives auto or a declared queue."""
        policy = POLICY_FILES[which]
        route = policy.evaluate(request)
        assert route.route == AUTO or route.route in policy.queues

    @settings(max_examples=400, deadline=None)
    @given(request=requests, which=st.integers(0, len(POLICY_FILES) - 1))
    def test_failed_closed_is_never_auto(self, request, which):
        """A request that could not be judged goes to the fail-closed queue, never to auto."""
        policy = POLICY_FILES[which]
        route = policy.evaluate(request)
        if route.failed_closed:
            assert (route.route, route.rule) == (policy.fail_closed_queue, "fail_closed")

    @settings(max_examples=300, deadline=None)
    @given(request=requests)
    def test_auto_only_with_a_valid_confidence(self, request):
        """claims-triage only decides automatically above 0.92 with a numeric amount below 50000."""
        route = POLICY_FILES[0].evaluate(request)
        if route.auto:
            assert isinstance(request.confidence, float | int) and 0.92 < request.confidence <= 1
            assert request.input["amount"] < 50000

    @settings(max_examples=200, deadline=None)
    @given(request=requests)
    def test_every_route_has_a_reason(self, request):
        """Every route carries at least one reason and names the policy."""
        route = POLICY_FILES[1].evaluate(request)
        assert route.reasons and route.policy == POLICY_FILES[1].ref
