"""The deployment's model bindings file: loaded, linted with file:line and stable codes, reloaded.

The policy (the compliance officer's file) names a binding and where the proposal comes from; this
file (the operator's) says where the model lives: backend, address, model name and pinned version,
deadline, retries, breaker, the input and output mappings and the outcome labels.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gateway.errors import PolicyError
from gateway.policy.model import Issue, Policy

__all__ = ["BACKENDS", "Binding", "BindingSet", "check_policies", "load_bindings", "parse_duration"]

BACKENDS = ("oip-rest", "oip-grpc", "openai-chat", "python")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m)$")
_KEYS = {
    "backend",
    "address",
    "model",
    "version",
    "deadline",
    "retries",
    "breaker",
    "input",
    "output",
    "labels",
    "prompt",
    "sampling",
    "shadows",
    "headers_env",
    "tensor",
}
_REQUIRED = ("backend", "address", "model", "deadline", "input", "labels")


def parse_duration(text: Any) -> float | None:
    """Seconds of a duration such as ``250ms``, ``2s`` or ``1m``; None when it is not one."""
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text)
    if not m:
        return None
    return float(m.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[m.group(2)]


@dataclass(frozen=True, slots=True)
class Binding:
    """One model binding, checked: everything a backend needs to call the model."""

    name: str
    backend: str
    address: str
    model: str
    version: str | None
    deadline_s: float
    input: tuple[str, ...]
    labels: tuple[str, ...]
    attempts: int = 1
    backoff_s: float = 0.05
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    output: Mapping[str, str] = field(default_factory=dict)
    prompt: str = ""
    sampling: Mapping[str, Any] = field(default_factory=dict)
    shadows: tuple[str, ...] = ()
    headers_env: Mapping[str, str] = field(default_factory=dict)
    tensor: str = "input-0"


@dataclass(frozen=True, slots=True)
class BindingSet:
    """Every binding of a file, by name, with the file's path (for reloads)."""

    path: str
    bindings: Mapping[str, Binding]


def _lines(node: yaml.Node, parts: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[parts] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[(*parts, k.value)] = k.start_mark.line + 1
            _lines(v, (*parts, k.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*parts, i), out)


class _Lint:
    def __init__(self, file: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.file, self.lines = file, lines
        self.issues: list[Issue] = []

    def add(self, parts: tuple[Any, ...], code: str, message: str) -> None:
        at = parts
        while at and at not in self.lines:
            at = at[:-1]
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
        self.issues.append(Issue(self.file, self.lines.get(at), path, code, message))


def _duration(lint: _Lint, parts: tuple[Any, ...], value: Any) -> float:
    seconds = parse_duration(value)
    if seconds is None or seconds <= 0:
        lint.add(parts, "bad_duration", f"expected a duration such as 250ms or 2s, got {value!r}")
        return 1.0
    return seconds


def _binding(lint: _Lint, name: str, raw: Any) -> Binding | None:
    at: tuple[Any, ...] = ("bindings", name)
    start = len(lint.issues)
    if not _NAME.match(name):
        lint.add(at, "bad_name", f"binding name {name!r} must match {_NAME.pattern}")
    if not isinstance(raw, dict):
        lint.add(at, "wrong_type", "a binding is a mapping")
        return None
    for key in sorted(set(raw) - _KEYS):
        lint.add((*at, key), "unknown_key", f"unknown key '{key}'; expected one of: {', '.join(sorted(_KEYS))}")
    for key in _REQUIRED:
        if key not in raw:
            lint.add((*at, key), "missing_key", f"required key '{key}' is missing")
    if len(lint.issues) > start:
        return None
    if raw["backend"] not in BACKENDS:
        lint.add(
            (*at, "backend"),
            "unknown_backend",
            f"unknown backend {raw['backend']!r}; expected one of: {', '.join(BACKENDS)}",
        )
    for key in ("address", "model"):
        if not isinstance(raw[key], str) or not raw[key]:
            lint.add((*at, key), "wrong_type", f"'{key}' must be a non-empty string")
    if raw["backend"] == "python" and ":" not in str(raw["address"]):
        lint.add((*at, "address"), "bad_address", "a python backend's address is module:callable")
    deadline = _duration(lint, (*at, "deadline"), raw["deadline"])
    inputs, labels = raw["input"], raw["labels"]
    if not (isinstance(inputs, list) and inputs and all(isinstance(i, str) and i for i in inputs)):
        lint.add((*at, "input"), "bad_mapping", "'input' lists the decision input's fields the model reads")
        inputs = []
    if not (
        isinstance(labels, list)
        and labels
        and all(isinstance(x, str) for x in labels)
        and len(set(labels)) == len(labels)
    ):
        lint.add((*at, "labels"), "bad_labels", "'labels' is a non-empty list of distinct outcome labels")
        labels = []
    retries = raw.get("retries") or {}
    breaker = raw.get("breaker") or {}
    if (
        not isinstance(retries, dict)
        or not isinstance(retries.get("attempts", 1), int)
        or not 1 <= retries.get("attempts", 1) <= 10
    ):
        lint.add((*at, "retries"), "bad_retries", "'retries' is {attempts: 1..10, backoff: <duration>}")
        retries = {}
    backoff = _duration(lint, (*at, "retries", "backoff"), retries["backoff"]) if "backoff" in retries else 0.05
    if (
        not isinstance(breaker, dict)
        or not isinstance(breaker.get("failures", 5), int)
        or breaker.get("failures", 5) < 1
    ):
        lint.add((*at, "breaker"), "bad_breaker", "'breaker' is {failures: >=1, reset: <duration>}")
        breaker = {}
    reset = _duration(lint, (*at, "breaker", "reset"), breaker["reset"]) if "reset" in breaker else 30.0
    output = raw.get("output") or {}
    if not isinstance(output, dict) or not all(isinstance(v, str) for v in output.values()):
        lint.add((*at, "output"), "bad_mapping", "'output' maps outcome/confidence/probabilities to reply names")
        output = {}
    prompt = raw.get("prompt", "")
    if raw["backend"] == "openai-chat":
        if not isinstance(prompt, str) or not prompt:
            lint.add((*at, "prompt"), "missing_key", "an openai-chat binding needs a 'prompt' template")
        else:
            try:
                used = {f for _, f, _, _ in string.Formatter().parse(prompt) if f}
            except ValueError as exc:
                lint.add((*at, "prompt"), "bad_template", str(exc))
                used = set()
            for f in sorted(used - set(inputs) - {"labels"}):
                lint.add(
                    (*at, "prompt"), "unreachable_mapping", f"the prompt reads {{{f}}}, which 'input' does not list"
                )
    elif raw["backend"].startswith("oip") and "probabilities" not in output and "outcome" not in output:
        lint.add(
            (*at, "output"),
            "unreachable_mapping",
            "an oip binding's 'output' names the 'probabilities' or 'outcome' tensor",
        )
    version = raw.get("version")
    shadows = raw.get("shadows") or []
    if not isinstance(shadows, list) or not all(isinstance(s, str) for s in shadows):
        lint.add((*at, "shadows"), "wrong_type", "'shadows' lists other bindings' names")
        shadows = []
    if len(lint.issues) > start:
        return None
    return Binding(
        name=name,
        backend=raw["backend"],
        address=raw["address"],
        model=raw["model"],
        version=None if version is None else str(version),
        deadline_s=deadline,
        input=tuple(inputs),
        labels=tuple(labels),
        attempts=retries.get("attempts", 1),
        backoff_s=backoff,
        breaker_failures=breaker.get("failures", 5),
        breaker_reset_s=reset,
        output=dict(output),
        prompt=prompt or "",
        sampling=dict(raw.get("sampling") or {}),
        shadows=tuple(shadows),
        headers_env=dict(raw.get("headers_env") or {}),
        tensor=str(raw.get("tensor", "input-0")),
    )


def load_bindings(path: str | Path) -> BindingSet:
    """Read and check a bindings file; raises PolicyError with every issue (file:line: code)."""
    file = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Issue(file, None, "$", "unreadable", str(exc)[:200])]) from None
    lines: dict[tuple[Any, ...], int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise PolicyError(
            [Issue(file, mark.line + 1 if mark else None, "$", "yaml_syntax", str(exc.problem))]
        ) from None
    if node is not None:
        _lines(node, (), lines)
    lint = _Lint(file, lines)
    if not isinstance(doc, dict) or doc.get("kind") != "ModelBindings" or not isinstance(doc.get("bindings"), dict):
        lint.add((), "not_bindings", "expected a mapping with kind: ModelBindings and a 'bindings' mapping")
        raise PolicyError(lint.issues)
    for key in sorted(set(doc) - {"apiVersion", "kind", "bindings"}):
        lint.add((key,), "unknown_key", f"unknown key '{key}'")
    found = {name: b for name, raw in doc["bindings"].items() if (b := _binding(lint, str(name), raw))}
    for b in found.values():
        for i, s in enumerate(b.shadows):
            if s not in found or s == b.name:
                lint.add(
                    ("bindings", b.name, "shadows", i),
                    "unknown_binding",
                    f"shadow {s!r} is not another binding of this file",
                )
    if lint.issues:
        raise PolicyError(sorted(lint.issues, key=lambda i: (i.line or 0, i.code)))
    return BindingSet(file, found)


def check_policies(policies: Sequence[Policy], bindings: BindingSet | None) -> list[Issue]:
    """Each policy that takes proposals from a model names a loaded binding whose labels it decides."""
    issues = []
    for p in policies:
        name = p.proposal.binding
        if p.proposal.source == "caller" or name is None:
            continue
        b = bindings.bindings.get(name) if bindings else None
        if b is None:
            issues.append(
                Issue(
                    p.source_path,
                    None,
                    "$.proposal.binding",
                    "unknown_binding",
                    f"binding {name!r} is not defined in the models file",
                )
            )
        elif set(b.labels) - set(p.outcomes):
            extra = ", ".join(sorted(set(b.labels) - set(p.outcomes)))
            issues.append(
                Issue(
                    p.source_path,
                    None,
                    "$.proposal.binding",
                    "unknown_outcome",
                    f"binding {name!r} proposes labels the policy does not decide: {extra}",
                )
            )
    return issues
