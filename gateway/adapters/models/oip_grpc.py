"""The Open Inference Protocol v2 over gRPC: ``inference.GRPCInferenceService/ModelInfer``.

The request carries the mapped input as one FP64 tensor, like the REST backend; the reply's
tensors (in ``contents`` or in ``raw_output_contents``) are turned into the REST reply's shape
and read by the same ``parse_oip``, so both transports judge a reply alike. gRPC status codes
map onto the failure kinds: a deadline is ``timeout``, ``UNAVAILABLE`` is ``connection``, a
server-side code is ``grpc_server`` (retried) and any other is ``grpc_client``.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from typing import Any

import grpc

from gateway.adapters.models.backends import Backend, check_version, features, number_list, parse_oip
from gateway.review.model_port import ModelFailure, ModelProposal
from signoff.oip.v2 import grpc_predict_v2_pb2 as pb
from signoff.oip.v2 import grpc_predict_v2_pb2_grpc as pb_grpc

__all__ = ["OipGrpc", "reply_to_json", "tensor_data"]

_SERVER_SIDE = frozenset(
    {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED}
)
_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
_RAW = {
    "BOOL": "?",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "FP32": "f",
    "FP64": "d",
}


def _raw_bytes(raw: bytes) -> list[str]:
    """BYTES raw contents: each element a 4-byte little-endian length, then that many bytes."""
    out, i = [], 0
    while i < len(raw):
        if i + 4 > len(raw):
            raise ModelFailure("malformed", "BYTES raw contents end inside a length prefix")
        (n,) = struct.unpack_from("<I", raw, i)
        if i + 4 + n > len(raw):
            raise ModelFailure("malformed", "BYTES raw contents end inside an element")
        out.append(raw[i + 4 : i + 4 + n].decode("utf-8", "replace"))
        i += 4 + n
    return out


def tensor_data(tensor: Any, raw: bytes | None) -> list[Any]:
    """A reply tensor's elements, from ``raw`` when the server sent raw contents, else from ``contents``."""
    datatype = tensor.datatype
    if raw is not None:
        if datatype == "BYTES":
            return _raw_bytes(raw)
        code = _RAW.get(datatype)
        if code is None:
            raise ModelFailure("malformed", f"output {tensor.name[:40]!r}: datatype {datatype[:16]!r} is not readable")
        size = struct.calcsize(code)
        if len(raw) % size:
            raise ModelFailure(
                "malformed", f"output {tensor.name[:40]!r}: {len(raw)} raw bytes is not whole {datatype}"
            )
        return list(struct.unpack(f"<{len(raw) // size}{code}", raw))
    field = _CONTENTS.get(datatype)
    if field is None:
        raise ModelFailure("malformed", f"output {tensor.name[:40]!r}: datatype {datatype[:16]!r} is not readable")
    values = list(getattr(tensor.contents, field))
    return [v.decode("utf-8", "replace") for v in values] if datatype == "BYTES" else values


def reply_to_json(reply: Any) -> dict[str, Any]:
    """The gRPC reply in the REST reply's shape (what ``parse_oip`` reads)."""
    raws = list(reply.raw_output_contents)
    if raws and len(raws) != len(reply.outputs):
        raise ModelFailure("malformed", "raw_output_contents does not hold one entry per output")
    outputs = [
        {
            "name": t.name,
            "datatype": t.datatype,
            "shape": list(t.shape),
            "data": tensor_data(t, raws[i] if raws else None),
        }
        for i, t in enumerate(reply.outputs)
    ]
    return {"model_name": reply.model_name, "model_version": reply.model_version, "id": reply.id, "outputs": outputs}


class OipGrpc(Backend):
    """Open Inference Protocol v2 over gRPC (``address`` is host:port, plaintext)."""

    _channel: grpc.aio.Channel | None = None

    def _stub(self) -> pb_grpc.GRPCInferenceServiceStub:
        # A grpc.aio channel belongs to the event loop it is made on: make it on the first call.
        if self._channel is None:
            target = self.binding.address.removeprefix("grpc://")
            self._channel = grpc.aio.insecure_channel(target)
        return pb_grpc.GRPCInferenceServiceStub(self._channel)

    async def call(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        b = self.binding
        feats = number_list(b, features(b, input))
        request = pb.ModelInferRequest(
            model_name=b.model,
            model_version=b.version or "",
            inputs=[
                pb.ModelInferRequest.InferInputTensor(
                    name=b.tensor,
                    datatype="FP64",
                    shape=[1, len(feats)],
                    contents=pb.InferTensorContents(fp64_contents=feats),
                )
            ],
            outputs=[pb.ModelInferRequest.InferRequestedOutputTensor(name=n) for n in sorted(set(b.output.values()))],
        )
        start = time.perf_counter()
        try:
            reply = await self._stub().ModelInfer(request, timeout=timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise _failure(exc, timeout_s) from None
        body = reply_to_json(reply)
        outcome, confidence, scores, name, version = parse_oip(b, body)
        check_version(b, version)
        raw = reply.SerializeToString()
        return ModelProposal(
            b.name,
            outcome,
            confidence,
            name or b.model,
            version,
            (time.perf_counter() - start) * 1000,
            _describe(body, raw),
            scores,
        )

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        await super().aclose()


def _describe(body: dict[str, Any], raw: bytes) -> str:
    """What the model said, as JSON text for the record (the REST backend records the body it got)."""
    import json

    return json.dumps({**body, "wire_bytes": len(raw)}, sort_keys=True, default=str)


def _failure(exc: grpc.aio.AioRpcError, timeout_s: float) -> ModelFailure:
    code = exc.code()
    detail = (exc.details() or "")[:100]
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return ModelFailure("timeout", f"no reply within {timeout_s:.3f}s")
    if code is grpc.StatusCode.UNAVAILABLE:
        return ModelFailure("connection", f"UNAVAILABLE: {detail}")
    kind = "grpc_server" if code in _SERVER_SIDE else "grpc_client"
    return ModelFailure(kind, f"{code.name}: {detail}")
