"""Frozen value types of the policy core: what a compiled policy is and what evaluation returns.

Pure: stdlib only. The loader builds these; the evaluator and the review use cases read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AUTO",
    "EvalRequest",
    "Issue",
    "Policy",
    "PolicyRef",
    "ProposalSource",
    "Queue",
    "Route",
    "Sampling",
]

AUTO = "auto"
"""The route name meaning "decide without a human"."""

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found while loading a policy, with a stable code and a place."""

    file: str
    line: int | None
    json_path: str
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        sev = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {self.json_path}: {sev}{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """Which exact policy text decided: name, declared version, sha256 of the canonical form."""

    name: str
    version: int
    digest: str


@dataclass(frozen=True, slots=True)
class Queue:
    """A review queue: who may review from it, and what it is for."""

    name: str
    roles: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class Sampling:
    """Random after-the-fact human audit of automatic decisions."""

    audit_auto_rate: float = 0.0
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class ProposalSource:
    """Where a decision type's proposal comes from: ``caller``, ``model`` (the named binding) or ``either``."""

    source: Literal["caller", "model", "either"] = "caller"
    binding: str | None = None


@dataclass(frozen=True, slots=True)
class EvalRequest:
    """What the evaluator may look at: the caller's input and the model's proposal."""

    input: Mapping[str, Any]
    outcome: str
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)
    model: str = ""


@dataclass(frozen=True, slots=True)
class Route:
    """The result of evaluating a policy: where the decision goes, and why.

    ``route`` is ``"auto"`` or a queue name. ``rule`` names the matched rule, ``"default"``
    when none matched, or ``"fail_closed"`` when the request could not be judged.
    """

    route: str
    rule: str
    reasons: tuple[str, ...]
    policy: PolicyRef
    failed_closed: bool = False

    @property
    def auto(self) -> bool:
        """True when the decision is taken without a human."""
        return self.route == AUTO


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded, validated and compiled routing policy for one decision type."""

    ref: PolicyRef
    decision: str
    description: str
    owners: tuple[str, ...]
    significant: bool
    gdpr_basis: str | None
    adverse_outcomes: frozenset[str]
    outcomes: tuple[str, ...]
    queues: Mapping[str, Queue]
    sampling: Sampling
    fail_closed_queue: str
    source_text: str
    source_path: str
    evaluate: Callable[[EvalRequest], Route]
    validate_input: Callable[[Mapping[str, Any]], list[tuple[str, str]]]
    warnings: tuple[Issue, ...] = ()
    proposal: ProposalSource = ProposalSource()

    @property
    def name(self) -> str:
        """The policy's ``metadata.name``."""
        return self.ref.name

    @property
    def version(self) -> int:
        """The policy's declared integer ``metadata.version``."""
        return self.ref.version
