"""Frozen value types of the policy core: what a compiled policy is and what evaluation returns.

Pure: stdlib only. The loader builds these; the evaluator and the review use cases read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AUTO",
    "Contest",
    "EvalRequest",
    "Issue",
    "Policy",
    "PolicyRef",
    "ProposalSource",
    "Queue",
    "Quorum",
    "Reopen",
    "Route",
    "Sampling",
    "Sla",
    "TimeoutAction",
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
class TimeoutAction:
    """What a queue's timer does to a task nobody decided in time.

    ``escalate`` moves it to ``queue``; ``expire`` ends the decision as ``EXPIRED``; ``decide``
    finalizes it with ``outcome`` (lint refuses an adverse one on a significant decision).
    """

    action: Literal["escalate", "expire", "decide"]
    queue: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Sla:
    """A queue's service level: seconds from a task's creation to its warning and its timeout."""

    due_seconds: int
    on_timeout: TimeoutAction
    warn_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class Quorum:
    """How many distinct reviewers must sign off, how they must agree, and where disagreement goes.

    One reviewer (the default) needs no agreement rule; ``escalate_to`` is None only then.
    """

    reviewers: int = 1
    agreement: Literal["unanimous", "majority"] = "unanimous"
    escalate_to: str | None = None


@dataclass(frozen=True, slots=True)
class Queue:
    """A review queue: who may review from it, its SLA, quorum, and blind and gold shares."""

    name: str
    roles: tuple[str, ...]
    description: str = ""
    sla: Sla | None = None
    quorum: Quorum = Quorum()
    blind_rate: float = 0.0
    gold_rate: float = 0.0


@dataclass(frozen=True, slots=True)
class Contest:
    """GDPR Art. 22(3): who may contest a final decision, for how long, and which queue hears it."""

    window_seconds: int
    queue: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reopen:
    """Who may open an automatic decision for human review, and the queue that receives it."""

    roles: tuple[str, ...]
    queue: str


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
    contest: Contest | None = None
    reopen: Reopen | None = None
    rule_quorums: Mapping[str, Quorum] = field(default_factory=dict)
    personal: tuple[str, ...] = ()
    """Top-level input fields the ``input_schema`` marks ``"x-personal": true``: stored sealed."""

    def quorum(self, route: Route) -> Quorum:
        """The quorum a routed decision needs: its rule's, else its queue's, else one reviewer."""
        if route.rule in self.rule_quorums:
            return self.rule_quorums[route.rule]
        queue = self.queues.get(route.route)
        return queue.quorum if queue is not None else Quorum()

    @property
    def name(self) -> str:
        """The policy's ``metadata.name``."""
        return self.ref.name

    @property
    def version(self) -> int:
        """The policy's declared integer ``metadata.version``."""
        return self.ref.version
