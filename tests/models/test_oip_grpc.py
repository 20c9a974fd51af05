"""The OIP v2 gRPC backend's reading of replies: every reply is a proposal or a named failure."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import replace
from typing import Any

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.models.backends import parse_oip
from gateway.adapters.models.caller import ModelCaller
from gateway.adapters.models.oip_grpc import OipGrpc, reply_to_json
from gateway.review.model_port import ModelFailure
from signoff.oip.v2 import grpc_predict_v2_pb2 as pb
from signoff.oip.v2 import grpc_predict_v2_pb2_grpc as pb_grpc
from tests.models.test_backends import OIP

GRPC = replace(OIP, backend="oip-grpc", deadline_s=2.0)
_TYPES = st.sampled_from(["FP64", "FP32", "INT64", "INT32", "BOOL", "BYTES", "UINT8", "FP16", "", "??"])
_NAMES = st.sampled_from(["predict_proba", "predict", "other", ""])


@st.composite
def _replies(draw: Any) -> pb.ModelInferResponse:
    """A ModelInferResponse with fuzzed outputs: datatypes, contents and raw bytes of any length."""
    reply = pb.ModelInferResponse(model_name=draw(st.text(max_size=8)), model_version=draw(st.text(max_size=4)))
    raw = draw(st.booleans())
    for _ in range(draw(st.integers(0, 3))):
        t = reply.outputs.add(name=draw(_NAMES), datatype=draw(_TYPES))
        if raw:
            reply.raw_output_contents.append(draw(st.binary(max_size=40)))
        else:
            t.contents.fp64_contents.extend(draw(st.lists(st.floats(allow_nan=True), max_size=3)))
            t.contents.int64_contents.extend(draw(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3)))
            t.contents.bytes_contents.extend(draw(st.lists(st.binary(max_size=6), max_size=2)))
    if raw and draw(st.booleans()):
        reply.raw_output_contents.append(b"extra")
    return reply


class TestReplyReading:
    """``reply_to_json`` then ``parse_oip``: the same judgement as the REST reply."""

    @settings(max_examples=400, deadline=None)
    @given(_replies())
    def test_fuzzed_replies_only_fail_closed(self, reply: pb.ModelInferResponse) -> None:
        """Any reply gives a proposal with a confidence in [0, 1] or a ModelFailure, never another exception."""
        try:
            _, confidence, _, _, _ = parse_oip(GRPC, reply_to_json(reply))
            assert 0.0 <= confidence <= 1.0
        except ModelFailure:
            pass

    def test_raw_fp64_contents_are_read(self) -> None:
        """Probabilities sent as raw little-endian doubles give the proposal (the fuzz test can pass)."""
        reply = pb.ModelInferResponse(model_name="claims", model_version="1")
        reply.outputs.add(name="predict_proba", datatype="FP64", shape=[1, 2])
        reply.raw_output_contents.append(struct.pack("<2d", 0.25, 0.75))
        assert parse_oip(GRPC, reply_to_json(reply))[:2] == ("approve", 0.75)

    def test_raw_bytes_cut_short_is_malformed(self) -> None:
        """A BYTES element whose length prefix runs past the end is malformed, not a crash."""
        reply = pb.ModelInferResponse()
        reply.outputs.add(name="predict", datatype="BYTES")
        reply.raw_output_contents.append(struct.pack("<I", 10) + b"abc")
        with pytest.raises(ModelFailure) as err:
            reply_to_json(reply)
        assert err.value.kind == "malformed"


class _Server(pb_grpc.GRPCInferenceServiceServicer):
    """A test OIP gRPC server on 127.0.0.1 that answers with what a test sets (or a status code).

    The real MLServer (``test_mlserver.py``) covers the served model; it cannot be made to answer
    INTERNAL, stall past a deadline or report another version on demand, which this server does,
    through the same generated service and a real gRPC connection.
    """

    def __init__(self) -> None:
        self.reply: pb.ModelInferResponse | None = None
        self.status: grpc.StatusCode | None = None
        self.delay = 0.0
        self.requests: list[pb.ModelInferRequest] = []

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Any) -> pb.ModelInferResponse:
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        if self.status is not None:
            await context.abort(self.status, "test says no")
        assert self.reply is not None
        return self.reply


async def _propose_with(server: _Server, binding: Any = GRPC, timeout: float = 2.0) -> Any:
    grpc_server = grpc.aio.server()
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(server, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    await grpc_server.start()
    caller = ModelCaller(OipGrpc(replace(binding, address=f"127.0.0.1:{port}")))
    try:
        return await caller.propose({"amount": 1200.0, "tenure": 3}, timeout)
    finally:
        await caller.backend.aclose()
        await grpc_server.stop(None)


class TestOverTheWire:
    """Through a real gRPC server and the generated stub."""

    def test_request_carries_the_mapped_input(self) -> None:
        """The request names the model and pin and carries the input as one FP64 tensor [1, n]."""
        server = _Server()
        server.reply = pb.ModelInferResponse(model_name="claims", model_version="1")
        server.reply.outputs.add(name="predict_proba", datatype="FP64").contents.fp64_contents.extend([0.1, 0.9])
        p = asyncio.run(_propose_with(server))
        req = server.requests[0]
        assert (req.model_name, req.model_version) == ("claims", "1")
        assert list(req.inputs[0].shape) == [1, 2] and list(req.inputs[0].contents.fp64_contents) == [1200.0, 3.0]
        assert (p.outcome, p.confidence, p.model_version) == ("approve", 0.9, "1")

    @pytest.mark.parametrize(
        ("status", "kind"),
        [
            (grpc.StatusCode.NOT_FOUND, "grpc_client"),
            (grpc.StatusCode.INVALID_ARGUMENT, "grpc_client"),
            (grpc.StatusCode.INTERNAL, "grpc_server"),
            (grpc.StatusCode.UNAVAILABLE, "connection"),
        ],
    )
    def test_status_codes_name_their_kind(self, status: grpc.StatusCode, kind: str) -> None:
        """Each refusal becomes the failure kind that routes it to review with its reason."""
        server = _Server()
        server.status = status
        with pytest.raises(ModelFailure) as err:
            asyncio.run(_propose_with(server, replace(GRPC, attempts=1)))
        assert err.value.kind == kind

    def test_a_slow_model_is_a_timeout(self) -> None:
        """A reply later than the deadline is a timeout."""
        server = _Server()
        server.delay = 1.0
        server.reply = pb.ModelInferResponse()
        with pytest.raises(ModelFailure) as err:
            asyncio.run(_propose_with(server, replace(GRPC, attempts=1, deadline_s=0.2), timeout=0.2))
        assert err.value.kind == "timeout"

    def test_a_version_other_than_the_pin(self) -> None:
        """A reply from version 2 when the binding pins 1 is refused."""
        server = _Server()
        server.reply = pb.ModelInferResponse(model_name="claims", model_version="2")
        server.reply.outputs.add(name="predict_proba", datatype="FP64").contents.fp64_contents.extend([0.1, 0.9])
        with pytest.raises(ModelFailure) as err:
            asyncio.run(_propose_with(server))
        assert err.value.kind == "version"
