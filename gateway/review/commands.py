"""Inputs to the review use cases, already converted from the wire but not yet validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from gateway.review.model import Action, Proposal

__all__ = ["DecideCommand", "SubmitCommand"]


@dataclass(frozen=True, slots=True)
class DecideCommand:
    """A calling service's request for a decision."""

    request_id: str
    decision_type: str
    subject_ref: str
    input: Mapping[str, Any]
    proposal: Proposal | None
    wait: timedelta | None = None


@dataclass(frozen=True, slots=True)
class SubmitCommand:
    """A reviewer's sign-off on a claimed task."""

    task_id: str
    action: Action | None
    outcome: str = ""
    payload: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    active_seconds: float | None = None
    """Active time on task that the reviewer's page measured (visible, not idle); None: unknown."""
