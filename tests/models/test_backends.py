"""Backends and their caller: proposals from real HTTP servers and an in-process sklearn model; every failure names its kind."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from gateway.adapters.models.backends import OipRest, OpenAIChat, PythonCallable, parse_chat, parse_oip
from gateway.adapters.models.bindings import Binding
from gateway.adapters.models.caller import ModelCaller, ModelMetrics
from gateway.review.model_port import ModelFailure, ModelProposal
from tests.models.fake_servers import ChatServer, OipServer

OIP = Binding(
    name="claims-model",
    backend="oip-rest",
    address="",
    model="claims",
    version="1",
    deadline_s=0.3,
    input=("amount", "tenure"),
    labels=("deny", "approve"),
    output={"probabilities": "predict_proba"},
    attempts=2,
    backoff_s=0.01,
    breaker_failures=2,
    breaker_reset_s=60.0,
)
CHAT = Binding(
    name="moderation-llm",
    backend="openai-chat",
    address="",
    model="moderator",
    version=None,
    deadline_s=1.0,
    input=("text",),
    labels=("allow", "remove", "restrict"),
    prompt="Moderate: {text}. One of {labels}.",
    sampling={"temperature": 0},
)
PY = Binding(
    name="cancer",
    backend="python",
    address="tests.models.sk_model:predict",
    model="lr",
    version="1",
    deadline_s=30.0,
    input=("radius", "texture", "perimeter", "area"),
    labels=("malignant", "benign"),
)
CELL = {"radius": 17.99, "texture": 10.38, "perimeter": 122.8, "area": 1001.0}


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def oip() -> Iterator[OipServer]:
    with OipServer([0.2, 0.8]) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with ChatServer({"allow": math.log(0.6), "remove": math.log(0.3), "maybe": math.log(0.1)}) as server:
        yield server  # type: ignore[misc]


async def _call(
    binding: Binding, backend_cls: type, input: dict, timeout: float = 1.0, metrics: ModelMetrics | None = None
) -> ModelProposal:
    caller = ModelCaller(backend_cls(binding), metrics)
    try:
        return await caller.propose(input, timeout)
    finally:
        await caller.backend.aclose()


class TestOipRest:
    def test_probabilities_to_proposal(self, oip: OipServer) -> None:
        """The larger probability is the outcome, its value the confidence, the request is OIP v2."""
        p = run(_call(replace(OIP, address=oip.url), OipRest, {"amount": 10, "tenure": 2}))
        assert (p.outcome, p.confidence, p.model_version, p.scores) == (
            "approve",
            0.8,
            "1",
            {"deny": 0.2, "approve": 0.8},
        )
        assert oip.requests[0]["inputs"][0] == {
            "name": "input-0",
            "shape": [1, 2],
            "datatype": "FP64",
            "data": [10.0, 2.0],
        }

    @pytest.mark.parametrize(
        ("mode", "kind"),
        [
            ("500", "http_5xx"),
            ("400", "http_4xx"),
            ("garbage", "malformed"),
            ("out_of_range", "confidence"),
            ("other_version", "version"),
            ("slow", "timeout"),
        ],
    )
    def test_failure_kinds(self, oip: OipServer, mode: str, kind: str) -> None:
        """Each way the server fails becomes a ModelFailure of its own kind."""
        oip.mode = mode
        with pytest.raises(ModelFailure) as err:
            run(_call(replace(OIP, address=oip.url, attempts=1), OipRest, {"amount": 1, "tenure": 1}))
        assert err.value.kind == kind and err.value.reason.startswith(f"model_{kind}: ")

    def test_connection_error(self) -> None:
        """Nobody listening is a connection failure."""
        with pytest.raises(ModelFailure) as err:
            run(_call(replace(OIP, address="http://127.0.0.1:9"), OipRest, {"amount": 1, "tenure": 1}))
        assert err.value.kind == "connection"

    def test_missing_input_field_named(self, oip: OipServer) -> None:
        """An input the mapping cannot fill names the field and calls nothing."""
        with pytest.raises(ModelFailure) as err:
            run(_call(replace(OIP, address=oip.url), OipRest, {"amount": 1}))
        assert err.value.kind == "input" and err.value.detail.startswith("input.tenure:") and oip.requests == []

    def test_retries_5xx_not_4xx(self, oip: OipServer) -> None:
        """A 5xx is tried again (attempts: 2), a 4xx is not."""
        b = replace(OIP, address=oip.url)
        for mode, tries in (("503", 2), ("400", 1)):
            oip.mode, oip.requests[:] = mode, []
            with pytest.raises(ModelFailure):
                run(_call(b, OipRest, {"amount": 1, "tenure": 1}))
            assert len(oip.requests) == tries

    def test_breaker_opens_and_metrics_count(self, oip: OipServer) -> None:
        """After two failed calls the breaker is open: the next fails at once without a request."""
        registry = CollectorRegistry()
        caller = ModelCaller(OipRest(replace(OIP, address=oip.url, attempts=1)), ModelMetrics(registry))
        oip.mode = "500"

        async def three() -> list[str]:
            kinds = []
            for _ in range(3):
                try:
                    await caller.propose({"amount": 1, "tenure": 1}, 1.0)
                except ModelFailure as exc:
                    kinds.append(exc.kind)
            await caller.backend.aclose()
            return kinds

        assert run(three()) == ["http_5xx", "http_5xx", "breaker_open"]
        assert len(oip.requests) == 2
        assert registry.get_sample_value("signoff_model_breaker_state", {"binding": "claims-model"}) == 2
        assert (
            registry.get_sample_value("signoff_model_errors_total", {"binding": "claims-model", "kind": "http_5xx"})
            == 2
        )

    def test_caller_deadline_cuts_binding_deadline(self, oip: OipServer) -> None:
        """A caller with 50ms left gets a timeout even though the binding allows 300ms."""
        oip.mode = "slow"
        with pytest.raises(ModelFailure) as err:
            run(
                _call(
                    replace(OIP, address=oip.url, deadline_s=5.0, attempts=1),
                    OipRest,
                    {"amount": 1, "tenure": 1},
                    timeout=0.05,
                )
            )
        assert err.value.kind == "timeout"


class TestOpenAIChat:
    def test_confidence_normalised_over_labels(self, chat: ChatServer) -> None:
        """0.6 and 0.3 over the allowed labels (0.1 on a non-label dropped): confidence 2/3."""
        p = run(_call(replace(CHAT, address=chat.url), OpenAIChat, {"text": "hello"}))
        assert p.outcome == "allow" and p.confidence == pytest.approx(2 / 3)
        assert p.scores["restrict"] == 0.0 and p.model_version == "fp_test1"

    def test_prompt_and_sampling_recorded(self, chat: ChatServer) -> None:
        """The prompt template and the sampling parameters sent are in the proposal's record."""
        p = run(_call(replace(CHAT, address=chat.url), OpenAIChat, {"text": "hello"}))
        sent = chat.requests[0]
        assert sent["messages"][0]["content"] == "Moderate: hello. One of allow, remove, restrict."
        assert p.record()["request"] == {
            "prompt_template": CHAT.prompt,
            "sampling": {k: sent[k] for k in p.record()["request"]["sampling"]},
        }
        assert sent["logprobs"] is True and sent["temperature"] == 0

    def test_no_logprobs_no_confidence(self, chat: ChatServer) -> None:
        """A reply without logprobs has no confidence: a confidence failure, so review."""
        chat.mode = "no_logprobs"
        with pytest.raises(ModelFailure) as err:
            run(_call(replace(CHAT, address=chat.url), OpenAIChat, {"text": "x"}))
        assert err.value.kind == "confidence"

    def test_answer_outside_labels(self, chat: ChatServer) -> None:
        """An answer that is not one of the policy's labels is malformed."""
        chat.logprobs = {"banana": -0.1, "allow": -3.0}
        with pytest.raises(ModelFailure) as err:
            run(_call(replace(CHAT, address=chat.url), OpenAIChat, {"text": "x"}))
        assert err.value.kind == "malformed"


class TestPythonCallable:
    @pytest.fixture(autouse=True)
    def _trained(self) -> None:
        """Train once before the calls (start-up work, as the gateway would do at load)."""
        from tests.models import sk_model

        sk_model.predict(CELL)

    def test_sklearn_in_process(self) -> None:
        """The in-process scikit-learn model proposes a label with a probability and version 1."""
        p = run(_call(PY, PythonCallable, CELL, timeout=30.0))
        assert p.outcome == "malignant" and 0.5 < p.confidence <= 1.0 and p.model_version == "1"

    def test_async_callable(self) -> None:
        """An async callable gives the same proposal as the sync one."""
        sync = run(_call(PY, PythonCallable, CELL, timeout=30.0))
        b = replace(PY, address="tests.models.sk_model:predict_async")
        assert run(_call(b, PythonCallable, CELL, timeout=30.0)).confidence == sync.confidence

    def test_callable_error_is_failure(self) -> None:
        """A callable that raises is a failed call of kind error, not a crash."""
        b = replace(PY, address="json:loads")
        with pytest.raises(ModelFailure) as err:
            run(_call(b, PythonCallable, CELL))
        assert err.value.kind == "error"


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_KEYS = st.sampled_from(
    [
        "outputs",
        "model_name",
        "model_version",
        "name",
        "data",
        "choices",
        "message",
        "content",
        "logprobs",
        "top_logprobs",
        "token",
        "logprob",
        "predict_proba",
    ]
)
_SHAPED = st.recursive(
    _JSON, lambda inner: st.dictionaries(_KEYS, inner, max_size=4) | st.lists(inner, max_size=3), max_leaves=30
)


class TestFuzzedReplies:
    @settings(max_examples=300, deadline=None)
    @given(_SHAPED)
    def test_oip_garbage_only_fails_closed(self, body: object) -> None:
        """Any JSON as an OIP reply gives a proposal or a ModelFailure, never another exception."""
        try:
            _, confidence, _, _, _ = parse_oip(OIP, body)
            assert 0.0 <= confidence <= 1.0
        except ModelFailure:
            pass

    @settings(max_examples=300, deadline=None)
    @given(_SHAPED)
    def test_chat_garbage_only_fails_closed(self, body: object) -> None:
        """Any JSON as a chat reply gives a proposal or a ModelFailure, never another exception."""
        try:
            _, confidence, _, _ = parse_chat(CHAT, body)
            assert 0.0 <= confidence <= 1.0
        except ModelFailure:
            pass

    def test_unhashable_tensor_name(self) -> None:
        """A tensor whose name is a list (found by reading the parser, not by luck) is ignored, not a crash."""
        with pytest.raises(ModelFailure):
            parse_oip(OIP, {"outputs": [{"name": ["predict_proba"], "data": [0.5, 0.5]}]})

    def test_fuzz_can_fail(self) -> None:
        """The fuzz test is not vacuous: a well-formed reply passes through as a proposal."""
        body = json.loads(json.dumps({"outputs": [{"name": "predict_proba", "data": [0.1, 0.9]}]}))
        assert parse_oip(OIP, body)[:2] == ("approve", 0.9)
