"""Model backends: Open Inference Protocol v2 over REST (gRPC: ``oip_grpc``), OpenAI-compatible chat, in-process Python.

Each turns one call into a ``ModelProposal`` or a ``ModelFailure`` naming what went wrong; nothing
a model sends back can raise anything else (a fuzz test holds them to it).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gateway.adapters.models.bindings import Binding
from gateway.review.model_port import ModelFailure, ModelProposal

__all__ = [
    "Backend",
    "OipRest",
    "OpenAIChat",
    "PythonCallable",
    "build_backend",
    "check_version",
    "features",
    "number_list",
    "parse_chat",
    "parse_oip",
]


def features(binding: Binding, input: Mapping[str, Any]) -> dict[str, Any]:
    """The mapped input fields; a field the mapping cannot fill names itself."""
    out = {}
    for path in binding.input:
        value: Any = input
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                raise ModelFailure("input", f"input.{path}: missing, and binding {binding.name!r} reads it")
            value = value[part]
        out[path] = value
    return out


def number_list(binding: Binding, feats: Mapping[str, Any]) -> list[float]:
    out = []
    for path, v in feats.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ModelFailure("input", f"input.{path}: expected a finite number for binding {binding.name!r}")
        out.append(float(v))
    return out


def _check_confidence(value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ModelFailure("confidence", f"confidence {str(value)[:40]} is missing or outside [0, 1]")
    return float(value)


def check_version(binding: Binding, reported: str) -> None:
    if binding.version is not None and reported != binding.version:
        raise ModelFailure("version", f"model reported version {reported[:40]!r}, the pin is {binding.version!r}")


def parse_oip(binding: Binding, body: Any) -> tuple[str, float, dict[str, float], str, str]:
    """Outcome, confidence, scores, model name and version from an OIP v2 inference response."""
    if not isinstance(body, dict) or not isinstance(body.get("outputs"), list):
        raise ModelFailure("malformed", "reply has no 'outputs' list")
    tensors = {
        o["name"]: o.get("data") for o in body["outputs"] if isinstance(o, dict) and isinstance(o.get("name"), str)
    }
    name, version = body.get("model_name", ""), body.get("model_version") or ""
    if not isinstance(name, str) or not isinstance(version, str):
        raise ModelFailure("malformed", "model_name/model_version are not strings")
    probs_name = binding.output.get("probabilities")
    if probs_name:
        probs = tensors.get(probs_name)
        if not isinstance(probs, list) or len(probs) != len(binding.labels):
            raise ModelFailure("malformed", f"output {probs_name!r} does not hold one probability per label")
        scores = {label: _check_confidence(p) for label, p in zip(binding.labels, probs, strict=True)}
        outcome = max(scores, key=lambda k: scores[k])
        return outcome, scores[outcome], scores, name, version
    raw = tensors.get(binding.output.get("outcome", ""))
    value = raw[0] if isinstance(raw, list) and raw else None
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and value == int(value)
        and 0 <= int(value) < len(binding.labels)
    ):
        outcome = binding.labels[int(value)]
    elif isinstance(value, str) and value in binding.labels:
        outcome = value
    else:
        raise ModelFailure("malformed", f"outcome {str(value)[:40]!r} is not one of the labels")
    conf_name = binding.output.get("confidence")
    conf = tensors.get(conf_name) if conf_name else None
    confidence = _check_confidence(conf[0] if isinstance(conf, list) and conf else None)
    return outcome, confidence, {}, name, version


def parse_chat(binding: Binding, body: Any) -> tuple[str, float, dict[str, float], str]:
    """Outcome, confidence (label probability normalised over the labels), scores and model name.

    The first generated token must start one label; ``top_logprobs`` of that token give each
    label's probability; a label absent from them counts as probability 0. No logprobs: failure.
    """
    try:
        choice = body["choices"][0]
        text = choice["message"]["content"]
        first = choice["logprobs"]["content"][0]
        tops = first["top_logprobs"]
        model = body.get("model", "")
    except (KeyError, IndexError, TypeError):
        raise ModelFailure("confidence", "reply has no usable token logprobs") from None
    if not isinstance(text, str) or not isinstance(tops, list) or not isinstance(model, str):
        raise ModelFailure("malformed", "reply content or top_logprobs has the wrong type")
    outcome = text.strip()
    if outcome not in binding.labels:
        raise ModelFailure("malformed", f"answer {outcome[:40]!r} is not one of the labels")
    mass = dict.fromkeys(binding.labels, 0.0)
    for top in tops:
        if not isinstance(top, dict) or not isinstance(top.get("token"), str):
            raise ModelFailure("malformed", "a top_logprobs entry has no token")
        lp = top.get("logprob")
        if isinstance(lp, bool) or not isinstance(lp, int | float) or math.isnan(lp) or lp > 0:
            raise ModelFailure("malformed", "a top_logprobs entry has no valid logprob")
        token = top["token"].strip()
        for label in binding.labels:
            if (
                token
                and label.startswith(token)
                and not any(o != label and o.startswith(token) for o in binding.labels)
            ):
                mass[label] += math.exp(lp)
    total = sum(mass.values())
    if total <= 0 or mass[outcome] <= 0:
        raise ModelFailure("confidence", "the chosen label has no probability in top_logprobs")
    scores = {k: v / total for k, v in mass.items()}
    return outcome, scores[outcome], scores, model


class Backend:
    """Shared parts: the binding, one HTTP client, and the proposal builder."""

    def __init__(self, binding: Binding, client: httpx.AsyncClient | None = None) -> None:
        self.binding = binding
        self.name = binding.name
        headers = {k: os.environ.get(env, "") for k, env in binding.headers_env.items()}
        self.client = client or httpx.AsyncClient(headers=headers)

    async def call(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        raise NotImplementedError

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _post(self, url: str, payload: Mapping[str, Any], timeout_s: float) -> tuple[Any, str]:
        try:
            reply = await self.client.post(url, json=payload, timeout=timeout_s)
        except httpx.TimeoutException:
            raise ModelFailure("timeout", f"no reply within {timeout_s:.3f}s") from None
        except httpx.HTTPError as exc:
            raise ModelFailure("connection", f"{type(exc).__name__}: {str(exc)[:100]}") from None
        if reply.status_code >= 400:
            kind = "http_5xx" if reply.status_code >= 500 else "http_4xx"
            raise ModelFailure(kind, f"HTTP {reply.status_code}: {reply.text[:100]}")
        text = reply.text
        try:
            return json.loads(text), text
        except (ValueError, RecursionError):
            raise ModelFailure("malformed", "reply is not JSON") from None


class OipRest(Backend):
    """Open Inference Protocol v2 over REST: ``POST /v2/models/{name}[/versions/{v}]/infer``."""

    async def call(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        b = self.binding
        feats = number_list(b, features(b, input))
        path = f"/v2/models/{b.model}" + (f"/versions/{b.version}" if b.version else "") + "/infer"
        payload: dict[str, Any] = {
            "inputs": [{"name": b.tensor, "shape": [1, len(feats)], "datatype": "FP64", "data": feats}]
        }
        if b.output:
            payload["outputs"] = [{"name": n} for n in sorted(set(b.output.values()))]
        start = time.perf_counter()
        body, raw = await self._post(b.address.rstrip("/") + path, payload, timeout_s)
        outcome, confidence, scores, name, version = parse_oip(b, body)
        check_version(b, version)
        return ModelProposal(
            b.name, outcome, confidence, name or b.model, version, (time.perf_counter() - start) * 1000, raw, scores
        )


class OpenAIChat(Backend):
    """OpenAI-compatible chat completions with logprobs; the answer is one of the labels."""

    async def call(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        b = self.binding
        feats = features(b, input)
        prompt = b.prompt.format(labels=", ".join(b.labels), **{k.replace(".", "_"): v for k, v in feats.items()})
        sampling = {
            "temperature": 0,
            "max_tokens": 4,
            **b.sampling,
            "logprobs": True,
            "top_logprobs": max(5, len(b.labels)),
        }
        payload = {"model": b.model, "messages": [{"role": "user", "content": prompt}], **sampling}
        start = time.perf_counter()
        body, raw = await self._post(b.address.rstrip("/") + "/v1/chat/completions", payload, timeout_s)
        outcome, confidence, scores, name = parse_chat(b, body)
        reported = body.get("system_fingerprint") or name
        check_version(b, str(reported))
        return ModelProposal(
            b.name,
            outcome,
            confidence,
            name,
            str(reported),
            (time.perf_counter() - start) * 1000,
            raw,
            scores,
            request={"prompt_template": b.prompt, "sampling": sampling},
        )


class PythonCallable(Backend):
    """A ``module:callable`` in the gateway's process, sync or async, given the mapped input.

    It returns ``{"outcome", "confidence", "scores"?, "version"?}``; a sync callable runs in a
    thread so it cannot block the event loop.
    """

    def __init__(self, binding: Binding, client: httpx.AsyncClient | None = None) -> None:
        super().__init__(binding, client)
        module, _, attr = binding.address.partition(":")
        fn: Any = importlib.import_module(module)
        for part in attr.split("."):
            fn = getattr(fn, part)
        self.fn: Callable[..., Any] = fn

    async def call(self, input: Mapping[str, Any], timeout_s: float) -> ModelProposal:
        b = self.binding
        feats = features(b, input)
        start = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(self.fn):
                out = await self.fn(feats)
            else:
                out = await asyncio.to_thread(self.fn, feats)
        except ModelFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - a model's own bug is a failed call, routed to review
            raise ModelFailure("error", f"{type(exc).__name__}: {str(exc)[:100]}") from None
        if not isinstance(out, dict) or out.get("outcome") not in b.labels:
            raise ModelFailure("malformed", f"callable returned {str(out)[:60]!r}, not a labelled proposal")
        confidence = _check_confidence(out.get("confidence"))
        version = str(out.get("version", ""))
        check_version(b, version)
        raw = json.dumps(out, default=str, sort_keys=True)
        scores = out.get("scores") or {}
        return ModelProposal(
            b.name,
            out["outcome"],
            confidence,
            b.model,
            version,
            (time.perf_counter() - start) * 1000,
            raw,
            {str(k): float(v) for k, v in scores.items()} if isinstance(scores, dict) else {},
        )


def build_backend(binding: Binding) -> Backend:
    """The backend for a binding's kind."""
    from gateway.adapters.models.oip_grpc import OipGrpc  # it imports this module

    kinds: dict[str, type[Backend]] = {
        "oip-rest": OipRest,
        "oip-grpc": OipGrpc,
        "openai-chat": OpenAIChat,
        "python": PythonCallable,
    }
    if binding.backend not in kinds:
        raise ValueError(f"backend {binding.backend!r} is not available in this build")
    return kinds[binding.backend](binding)
