"""Issue 10, done means: random and malformed requests to every RPC of a real server, on SQLite
and on PostgreSQL, never get INTERNAL, UNKNOWN or UNAVAILABLE while the database is up, and
the server answers afterwards. Bounded and derandomized (the same examples every run)."""

from __future__ import annotations

import math
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor as F
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.rpc.server import _DESCRIPTORS
from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.gateway.backends import backend_client  # noqa: F401 - the fixture
from tests.gateway.helpers import claim_request

FORBIDDEN = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.UNAVAILABLE}
METHODS = [(s, m) for s in _DESCRIPTORS for m in s.methods]
WHO = ["caller", "alice", "bob", "carol", "erin"]
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Lengths at and around every documented limit, and far beyond.
_EDGE_LENGTHS = [0, 1, 64, 65, 127, 128, 129, 199, 200, 201, 255, 256, 257, 1024, 1025, 16_384, 16_385, 40_000]
TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from(
        [
            "",
            "approve",
            "deny",
            "junior",
            "senior",
            "audit",
            "claims.payout",
            "claims-triage",
            "auto",
            "human_decided",
            "override",
            "\x00",
            "a\x00b",
            "é" * 3,
            "policy_version",
        ]
    ),
    st.builds(lambda n, c: c * n, st.sampled_from(_EDGE_LENGTHS), st.sampled_from(["x", "é", "\x00", "😀"])),
)
FLOATS = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 0.5, 1.0, 0.97, 0.8, 1e308, -5.0]),
    st.floats(allow_nan=True, allow_infinity=True),
)
JSON = st.recursive(
    st.none() | st.booleans() | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=60,
)


def _int(bits: int) -> st.SearchStrategy[int]:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return st.one_of(
        st.integers(low, high),
        st.sampled_from([0, 1, -1, low, high, 2**31 - 1, 2**31]).filter(lambda v: low <= v <= high),
    )


def _scalar(f: F) -> st.SearchStrategy[Any]:
    t = f.type
    if t == F.TYPE_STRING:
        return TEXT
    if t == F.TYPE_DOUBLE:
        return FLOATS
    if t == F.TYPE_BOOL:
        return st.booleans()
    if t in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64):
        return _int(64)
    if t == F.TYPE_ENUM:
        return _int(32)
    return _int(32)


def _nested_json(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


STRUCTS = st.one_of(
    st.dictionaries(TEXT, JSON, max_size=5),
    st.integers(25, 60).map(lambda d: {"deep": _nested_json(d)}),
)


@st.composite
def message(draw: st.DrawFn, cls: type[Message], depth: int = 0) -> Message:
    """A message of ``cls`` with a random subset of its fields set to hostile values."""
    msg = cls()
    for f in cls.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue
        t = f.message_type
        if t is not None and t.GetOptions().map_entry:
            key, value = t.fields_by_name["key"], t.fields_by_name["value"]
            entries = draw(st.dictionaries(_scalar(key), _scalar(value), max_size=6))
            getattr(msg, f.name).update(entries)
        elif t is not None and t.full_name == "google.protobuf.Struct":
            getattr(msg, f.name).update(draw(STRUCTS))
        elif t is not None and t.full_name == "google.protobuf.Duration":
            getattr(msg, f.name).CopyFrom(duration_pb2.Duration(seconds=draw(_int(64)), nanos=draw(_int(32))))
        elif t is not None and t.full_name == "google.protobuf.Timestamp":
            getattr(msg, f.name).CopyFrom(timestamp_pb2.Timestamp(seconds=draw(_int(64)), nanos=draw(_int(32))))
        elif t is not None:
            if depth < 3:
                getattr(msg, f.name).CopyFrom(draw(message(GetMessageClass(t), depth + 1)))
        elif f.is_repeated:
            getattr(msg, f.name).extend(draw(st.lists(_scalar(f), max_size=5)))
        else:
            setattr(msg, f.name, draw(_scalar(f)))
    return msg


_PROPOSAL = decision_pb2.Proposal.DESCRIPTOR
_DECIDE = decision_pb2.DecideRequest.DESCRIPTOR


@st.composite
def decide_variant(draw: st.DrawFn) -> Message:
    """A valid Decide with one to four hostile edits: an input key added or replaced (a JSON
    value, NaN included), a proposal field, a top-level field, a score, or the wait."""
    req = claim_request()
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["input", "proposal", "top", "score", "wait"]))
        if kind == "input":
            key = draw(st.one_of(st.sampled_from(["amount", "claim_type", "extra"]), TEXT))
            req.input.update({key: draw(JSON)})
        elif kind == "proposal":
            f = draw(st.sampled_from([f for f in _PROPOSAL.fields if f.message_type is None]))
            setattr(req.proposal, f.name, draw(_scalar(f)))
        elif kind == "top":
            f = draw(st.sampled_from([f for f in _DECIDE.fields if f.message_type is None]))
            setattr(req, f.name, draw(_scalar(f)))
        elif kind == "score":
            req.proposal.scores[draw(TEXT)] = draw(FLOATS)
        else:
            req.wait.CopyFrom(duration_pb2.Duration(seconds=draw(_int(64)), nanos=draw(_int(32))))
    return req


def _tame(method: str, msg: Message) -> Message:
    """Keep a valid ``wait`` short: the fuzz is about answers, not about waiting for sign-offs."""
    if method == "Decide" and msg.HasField("wait") and 0 <= msg.wait.seconds <= 600 and 0 <= msg.wait.nanos < 10**9:
        msg.wait.CopyFrom(duration_pb2.Duration(nanos=1000))
    return msg


def _call(channel: grpc.Channel, service: Any, method: Any, body: bytes, who: str) -> grpc.StatusCode:
    path = f"/{service.full_name}/{method.name}"
    stub: Any = (channel.unary_stream if method.server_streaming else channel.unary_unary)(path)
    try:
        answer = stub(body, metadata=auth(who), timeout=30)
        if method.server_streaming:
            for _ in answer:
                pass
    except grpc.RpcError as err:
        assert err.code() not in FORBIDDEN, (path, err.code(), err.details())
        assert len(err.details() or "") <= 200, (path, err.details())
        return err.code()
    return grpc.StatusCode.OK


def _still_answers(client: Any) -> None:
    health = health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    decision = client.decisions.Decide(claim_request(), metadata=auth("caller"), timeout=30).decision
    assert decision.status == decision_pb2.DECISION_STATUS_AUTO_DECIDED


class TestFuzz:
    """No hostile request is answered as a server fault, on either backend."""

    @pytest.mark.parametrize(("service", "method"), METHODS, ids=[m.name for _, m in METHODS])
    def test_random_messages(self, backend_client, service, method):
        """Random well-formed messages with hostile field values, from several principals."""
        cls = GetMessageClass(method.input_type)

        @FUZZ
        @given(msg=message(cls), who=st.sampled_from(WHO))
        def run(msg: Message, who: str) -> None:
            _call(backend_client.channel, service, method, _tame(method.name, msg).SerializeToString(), who)

        run()
        _still_answers(backend_client)

    def test_decide_variants(self, backend_client):
        """Valid Decides with a few fields made hostile reach the policy and the store."""
        service, method = next((s, m) for s, m in METHODS if m.name == "Decide")

        @settings(FUZZ, max_examples=150)
        @given(msg=decide_variant())
        def run(msg: Message) -> None:
            _call(backend_client.channel, service, method, _tame("Decide", msg).SerializeToString(), "caller")

        run()
        _still_answers(backend_client)

    def test_raw_bytes(self, backend_client):
        """Arbitrary bytes to every method."""

        @settings(FUZZ, max_examples=150)
        @given(index=st.integers(0, len(METHODS) - 1), body=st.binary(max_size=96), who=st.sampled_from(WHO))
        def run(index: int, body: bytes, who: str) -> None:
            service, method = METHODS[index]
            _call(backend_client.channel, service, method, body, who)

        run()
        _still_answers(backend_client)


class TestTheFuzzCanFail:
    """The fuzz's check catches a server fault: against a server that answers INTERNAL or
    UNKNOWN (a handler that raises), the same ``_call`` fails."""

    @pytest.fixture
    def faulty(self) -> Any:
        """A bare gRPC server whose Decide raises (UNKNOWN) and whose GetDecision aborts INTERNAL."""
        from concurrent import futures

        def boom(request: bytes, context: Any) -> bytes:
            raise ValueError("Out of range float values are not JSON compliant")

        def internal(request: bytes, context: Any) -> bytes:
            context.abort(grpc.StatusCode.INTERNAL, "internal error")

        handler = grpc.method_handlers_generic_handler(
            "signoff.v1.DecisionService",
            {
                "Decide": grpc.unary_unary_rpc_method_handler(boom),
                "GetDecision": grpc.unary_unary_rpc_method_handler(internal),
            },
        )
        server = grpc.server(futures.ThreadPoolExecutor(2), handlers=(handler,))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield channel
        channel.close()
        server.stop(None)

    @pytest.mark.parametrize("name", ["Decide", "GetDecision"])
    def test_fault_is_caught(self, faulty, name):
        """UNKNOWN from a raising handler and INTERNAL from an abort both fail the check."""
        service, method = next((s, m) for s, m in METHODS if m.name == name)
        with pytest.raises(AssertionError):
            _call(faulty, service, method, b"", "caller")
