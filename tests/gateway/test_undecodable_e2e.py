"""Issue 10, item 5: bytes that are not the method's request message are INVALID_ARGUMENT with a
short detail naming no Python class, for every RPC, and the server answers afterwards."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2

from gateway.rpc.server import _DESCRIPTORS
from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim_request, decide

METHODS = [(f"/{s.full_name}/{m.name}", m.server_streaming) for s in _DESCRIPTORS for m in s.methods]
#: Methods whose request's field 1 is a string (so invalid UTF-8 there fails to decode).
STRING_FIRST = [
    (f"/{s.full_name}/{m.name}", m.server_streaming)
    for s in _DESCRIPTORS
    for m in s.methods
    if (f := m.input_type.fields_by_number.get(1)) is not None and f.type == f.TYPE_STRING
]


def _deep_struct(levels: int) -> bytes:
    """A DecideRequest whose ``input`` nests ``levels`` Structs (encoded by hand, so the
    client's own encoder limits do not stop it)."""
    inner = b""
    for _ in range(levels):
        value = _field(5, inner)  # Value.struct_value
        entry = _field(1, b"k") + _field(2, value)  # map entry: key, Value
        inner = _field(1, entry)  # Struct.fields
    return claim_request().SerializeToString() + _field(4, inner)


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


BAD_BYTES = {
    "invalid-utf8": _field(1, b"\xff\xfe\xfd"),  # field 1 is a string in every request that has one
    "truncated": claim_request().SerializeToString()[:-3],
    "garbage": b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    "struct-45-deep": _deep_struct(45),
}


def _raw_call(channel: grpc.Channel, method: str, streaming: bool, body: bytes, who: str = "caller") -> grpc.RpcError:
    call: Any = (channel.unary_stream if streaming else channel.unary_unary)(method)
    with pytest.raises(grpc.RpcError) as err:
        answer = call(body, metadata=auth(who), timeout=30)
        if streaming:
            list(answer)
    return err.value


def _assert_refused(err: grpc.RpcError) -> None:
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
    assert err.details().startswith("request: is not a valid signoff.v1.")
    assert "<class" not in err.details() and "Error" not in err.details()
    assert len(err.details()) <= 200


class TestUndecodableRequests:
    """Each RPC answers undecodable bytes with INVALID_ARGUMENT."""

    @pytest.mark.parametrize(("method", "streaming"), METHODS, ids=[m for m, _ in METHODS])
    def test_garbage(self, client, method, streaming):
        """Bytes that are no protobuf message at all: INVALID_ARGUMENT, short, naming no class."""
        _assert_refused(_raw_call(client.channel, method, streaming, BAD_BYTES["garbage"]))

    @pytest.mark.parametrize(("method", "streaming"), STRING_FIRST, ids=[m for m, _ in STRING_FIRST])
    def test_invalid_utf8(self, client, method, streaming):
        """A string field holding invalid UTF-8: INVALID_ARGUMENT."""
        _assert_refused(_raw_call(client.channel, method, streaming, BAD_BYTES["invalid-utf8"]))

    @pytest.mark.parametrize("kind", ["truncated", "struct-45-deep"])
    def test_decide(self, client, kind):
        """A truncated Decide, and one whose input nests 45 Structs: INVALID_ARGUMENT."""
        _assert_refused(_raw_call(client.channel, "/signoff.v1.DecisionService/Decide", False, BAD_BYTES[kind]))

    def test_decide_names_the_message(self, client):
        """Decide's detail says which message the bytes should have been."""
        err = _raw_call(client.channel, "/signoff.v1.DecisionService/Decide", False, BAD_BYTES["garbage"])
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.details() == "request: is not a valid signoff.v1.DecideRequest message"

    def test_unauthenticated_comes_first(self, client):
        """Undecodable bytes without a token are UNAUTHENTICATED, as any call without one."""
        call = client.channel.unary_unary("/signoff.v1.DecisionService/Decide")
        with pytest.raises(grpc.RpcError) as err:
            call(BAD_BYTES["garbage"], timeout=30)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

    def test_deep_struct_within_decoding_is_refused_by_depth(self, client):
        """Lists nested 33 deep decode, and are refused by the documented depth limit."""
        req = claim_request()
        value: Any = 1
        for _ in range(33):
            value = [value]
        req.input.update({"deep": value})
        with pytest.raises(grpc.RpcError) as err:
            decide(client, req)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "nested deeper than 32 levels" in err.value.details()

    def test_server_answers_afterwards(self, client):
        """After every kind of bad bytes, a good Decide is decided."""
        for body in BAD_BYTES.values():
            _raw_call(client.channel, "/signoff.v1.DecisionService/Decide", False, body)
        assert decide(client, claim_request()).status == decision_pb2.DECISION_STATUS_AUTO_DECIDED


def test_struct_type_is_protobuf_struct() -> None:
    """The hand encoding above follows struct.proto's field numbers (fields=1, struct_value=5)."""
    s = struct_pb2.Struct()
    s.update({"k": {}})
    assert s.SerializeToString() == _field(1, _field(1, b"k") + _field(2, _field(5, b"")))
