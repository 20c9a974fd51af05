"""The review domain's value types: decisions, review tasks and principals.

Audit events are the audit library's own ``audit.NewEvent``: one definition of each form.

Pure: stdlib only. Records are frozen; use cases make changed copies with ``dataclasses.replace``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.review.quorum import Vote

__all__ = [
    "Action",
    "Correction",
    "Decision",
    "Principal",
    "Proposal",
    "Status",
    "Task",
    "TaskKind",
    "TaskState",
]


class Status(enum.StrEnum):
    """Where a decision stands. ``AUTO_DECIDED`` and ``HUMAN_DECIDED`` are final."""

    AUTO_DECIDED = "AUTO_DECIDED"
    PENDING_REVIEW = "PENDING_REVIEW"
    IN_REVIEW = "IN_REVIEW"
    HUMAN_DECIDED = "HUMAN_DECIDED"
    EXPIRED = "EXPIRED"

    @property
    def final(self) -> bool:
        """True once no further sign-off can change the decision's status."""
        return self in (Status.AUTO_DECIDED, Status.HUMAN_DECIDED, Status.EXPIRED)


class Action(enum.StrEnum):
    """What a reviewer did with the model's proposal."""

    APPROVE = "APPROVE"
    EDIT = "EDIT"
    OVERRIDE = "OVERRIDE"
    REJECT = "REJECT"


class TaskKind(enum.StrEnum):
    """A held decision awaiting sign-off, or an automatic one drawn for after-the-fact audit."""

    REVIEW = "review"
    AUDIT = "audit"
    CONTEST = "contest"
    """A data subject's contest of a final decision (GDPR Art. 22(3)), heard by someone else."""


class TaskState(enum.StrEnum):
    """A task is open (claimable), claimed under a lease, or done."""

    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller, reviewer or auditor; identity comes only from its token."""

    name: str
    roles: frozenset[str]
    decision_types: frozenset[str] | None = None
    """The decision types this principal may ask for as a caller; None: any."""

    def has(self, role: str) -> bool:
        """True when the principal holds ``role``."""
        return role in self.roles

    def may_request(self, decision_type: str) -> bool:
        """True when the principal's allow-list (if any) names ``decision_type``."""
        return self.decision_types is None or decision_type in self.decision_types


@dataclass(frozen=True, slots=True)
class Proposal:
    """The model's proposed outcome and how sure it is."""

    outcome: str
    confidence: float
    scores: Mapping[str, float] = field(default_factory=dict)
    model: str = ""
    model_version: str = ""
    explanation: str = ""
    call: Mapping[str, Any] = field(default_factory=dict)
    """The gateway's model call when the model proposed: binding, model, version, latency, raw
    reply (or its digest), shadows; or the failure that sent it to review. Empty from a caller."""


@dataclass(frozen=True, slots=True)
class Correction:
    """An audit reviewer's correction of an automatic decision, after the fact."""

    outcome: str
    payload: Mapping[str, Any]
    action: Action
    reviewer: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Contest:
    """One contest of a final decision: filed for the data subject, heard in the policy's queue
    by someone who did not decide the original, and upheld or reversed."""

    task_id: str
    queue: str
    filed_by: str
    filed_at: datetime
    statement: str
    excluded: tuple[str, ...]
    """Who decided the original (its reviewers and correctors): none of them may hear it."""
    original_outcome: str
    state: str = "open"
    """``open``, ``upheld`` or ``reversed``."""
    outcome: str = ""
    """The outcome after the contest (the original's when upheld)."""
    decided_by: str = ""
    reason: str = ""
    decided_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision a calling service asked for, from receipt to final outcome."""

    decision_id: str
    request_id: str
    request_digest: str
    decision_type: str
    subject_ref: str
    input: Mapping[str, Any]
    proposal: Proposal
    requested_by: str
    status: Status
    route: str
    queue: str
    rule: str
    reasons: tuple[str, ...]
    policy_name: str
    policy_version: int
    policy_digest: str
    created_at: datetime
    significant: bool = False
    final_outcome: str = ""
    final_payload: Mapping[str, Any] = field(default_factory=dict)
    action: Action | None = None
    reviewer: str = ""
    review_reason: str = ""
    decided_at: datetime | None = None
    sampled: bool = False
    sample_probability: float = 0.0
    correction: Correction | None = None
    contests: tuple[Contest, ...] = ()
    """Every contest filed against this decision, oldest first."""
    gold_case_id: str = ""
    """Set on a gold case injected into a queue (``review/gold.py``): no caller asked for it, and
    it never reaches a caller, a statistic or an export. Empty on every real decision."""
    input_json: str = field(default="", compare=False, repr=False)
    """``canonical_json(input)`` when made already (once per Decide); empty: make it."""


@dataclass(frozen=True, slots=True)
class Task:
    """A decision waiting in a queue for a human: claimable, leased, or done."""

    task_id: str
    decision_id: str
    queue: str
    kind: TaskKind
    state: TaskState
    created_at: datetime
    requested_by: str
    claimed_by: str = ""
    claimed_at: datetime | None = None
    lease_expires_at: datetime | None = None
    warn_at: datetime | None = None
    """When the task counts as at risk under its queue's SLA (stored, so timers survive restarts)."""
    due_at: datetime | None = None
    """When the queue's timeout action fires; None when the queue has no SLA."""
    votes: tuple[Vote, ...] = ()
    """Four-eyes votes given on this task so far (``review/four_eyes.py``), oldest first."""
    blind: bool = False
    """Reviewed blind-first (``review/blind.py``): the proposal is withheld until the reviewer
    holding it records an initial outcome."""
    blind_probability: float = 0.0
    """The queue's ``blind_rate`` when the task was drawn (recorded like audit sampling)."""
    initial_outcome: str = ""
    """The holder's outcome before the reveal ("" until recorded; reset when the task is handed back)."""
    revealed_at: datetime | None = None
    """When the holder recorded the initial outcome and was shown the proposal."""
