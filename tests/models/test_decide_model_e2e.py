"""Decide through the real gateway with model bindings: the model proposes, bad input is refused, failures go to review."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest

from signoff.v1 import decision_pb2
from tests.conftest import ROOT, Client, new_request_id
from tests.gateway.helpers import auth, claim_request, decide
from tests.models.fake_servers import ChatServer

MODELS = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-model:
    backend: python
    address: tests.models.sk_model:claims
    model: claims-lr
    version: "1"
    deadline: 5s
    input: [amount, policy_holder_tenure_years]
    labels: [approve, deny, partial]
  moderation-llm:
    backend: openai-chat
    address: {chat}
    model: moderator
    deadline: 10s
    input: [surface, post_id]
    prompt: "Moderate the {{surface}} {{post_id}}. One of: {{labels}}."
    labels: [allow, remove, restrict]
"""


@pytest.fixture(scope="module")
def chat() -> Iterator[ChatServer]:
    with ChatServer({"allow": math.log(0.95), "remove": math.log(0.05)}) as server:
        yield server  # type: ignore[misc]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, chat: ChatServer) -> Iterator[object]:
    """A gateway whose claims policy takes the model's proposal and moderation either's."""
    from gateway.bootstrap import Settings, build_app, configure_logging
    from tests.gateway.backends import copy_policies

    root = tmp_path_factory.mktemp("models")
    policies = copy_policies(root / "policies")
    for name, section in (
        ("claims-triage.yaml", "proposal: {source: model, binding: claims-model}\n"),
        ("content-moderation.yaml", "proposal: {source: either, binding: moderation-llm}\n"),
    ):
        (policies / name).write_text((policies / name).read_text() + section)
    models = root / "models.yaml"
    models.write_text(MODELS.format(chat=chat.url))
    configure_logging("warning")
    app = build_app(
        Settings(
            address="127.0.0.1:0",
            database_url=f"sqlite:///{root / 'signoff.db'}",
            policy_dir=policies,
            principals_file=ROOT / "config" / "dev-principals.yaml",
            models_file=models,
            reload_seconds=0.2,
            sweep_seconds=0.5,
        )
    )
    app.db_path = root / "signoff.db"  # type: ignore[attr-defined]
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(app: object) -> Iterator[Client]:
    channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")  # type: ignore[attr-defined]
    yield Client(channel, "")
    channel.close()


def _claim(amount: float, **extra: object) -> decision_pb2.DecideRequest:
    req = claim_request(amount=amount, **extra)
    req.ClearField("proposal")
    return req


def _moderation(with_proposal: bool = False) -> decision_pb2.DecideRequest:
    req = decision_pb2.DecideRequest(
        request_id=new_request_id(), decision_type="content.moderation", subject_ref="post-1"
    )
    req.input.update({"post_id": "p1", "surface": "post"})
    if with_proposal:
        req.proposal.CopyFrom(decision_pb2.Proposal(outcome="remove", confidence=0.99, model="caller-model"))
    return req


class TestModelProposes:
    def test_claims_from_model(self, client: Client) -> None:
        """Decide without a proposal: the in-process model proposes, with its name and version."""
        d = decide(client, _claim(300, policy_holder_tenure_years=3))
        assert (d.proposal.outcome, d.proposal.model, d.proposal.model_version) == ("approve", "claims-lr", "1")
        assert d.proposal.confidence == pytest.approx(0.97)

    def test_moderation_from_chat_server(self, client: Client) -> None:
        """The OpenAI-compatible server proposes allow with confidence 0.95 over the labels."""
        d = decide(client, _moderation())
        assert d.proposal.outcome == "allow" and d.proposal.confidence == pytest.approx(0.95)

    def test_either_takes_caller_proposal(self, client: Client) -> None:
        """Where the source is either, a caller's proposal is used as sent."""
        d = decide(client, _moderation(with_proposal=True))
        assert (d.proposal.outcome, d.proposal.model) == ("remove", "caller-model")

    def test_explain_shows_the_call(self, client: Client, app: object) -> None:
        """signoff audit explain names the binding, the model version and the raw reply."""
        d = decide(client, _claim(200, policy_holder_tenure_years=1))
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "audit",
                "explain",
                d.decision_id,
                "--db",
                f"sqlite:///{app.db_path}",
            ],  # type: ignore[attr-defined]
            capture_output=True,
            text=True,
            check=False,
        )
        assert "binding claims-model (claims-lr version 1)" in out.stdout, out.stderr[-500:]


class TestBadInput:
    def test_proposal_where_source_is_model(self, client: Client) -> None:
        """A caller-supplied proposal where the source is model is INVALID_ARGUMENT naming proposal."""
        with pytest.raises(grpc.RpcError) as err:
            decide(client, claim_request(amount=100, policy_holder_tenure_years=1))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith("proposal: must not be sent")

    def test_unfillable_input_names_field(self, client: Client) -> None:
        """An input the binding's mapping cannot fill is INVALID_ARGUMENT naming the field."""
        with pytest.raises(grpc.RpcError) as err:
            decide(client, _claim(100))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith("input.policy_holder_tenure_years:")


class TestFailsClosed:
    @pytest.mark.parametrize(
        ("mode", "kind"), [("500", "http_5xx"), ("garbage", "malformed"), ("no_logprobs", "confidence")]
    )
    def test_model_failure_goes_to_review(self, client: Client, chat: ChatServer, mode: str, kind: str) -> None:
        """A failing model sends the decision to the fail-closed queue with a reason naming the failure."""
        chat.mode = mode
        try:
            d = decide(client, _moderation())
        finally:
            chat.mode = "ok"
        assert (d.route, d.rule, d.status) == ("moderators", "fail_closed", decision_pb2.DECISION_STATUS_PENDING_REVIEW)
        assert d.reasons[0].startswith(f"model_{kind}: ")


class TestCallerDeadline:
    def test_model_deadline_fits_inside_callers(self, client: Client, chat: ChatServer) -> None:
        """The binding allows 10s, the caller 3s: the model call is cut to fit, the decision held, not DEADLINE_EXCEEDED."""
        chat.mode, chat.delay = "slow", 6.0
        try:
            req = _moderation()
            d = client.decisions.Decide(req, metadata=auth("caller"), timeout=3).decision
        finally:
            chat.mode, chat.delay = "ok", 0.5
        assert (d.rule, d.reasons[0].split(":")[0]) == ("fail_closed", "model_timeout")
