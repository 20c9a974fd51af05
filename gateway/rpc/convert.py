"""Translate between protobuf messages and domain records; no logic lives here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from gateway.errors import InvalidRequest
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Decision, Proposal, Status, Task, TaskKind, TaskState
from signoff.v1 import decision_pb2, review_pb2

__all__ = [
    "decide_command",
    "decision_to_proto",
    "duration",
    "from_struct",
    "submit_command",
    "task_to_proto",
    "timestamp",
    "to_struct",
    "to_timestamp",
]

_STATUS = {s: getattr(decision_pb2, f"DECISION_STATUS_{s.value}") for s in Status}
_ACTION_TO_PROTO = {a: getattr(decision_pb2, f"REVIEW_ACTION_{a.value}") for a in Action}
_ACTION_FROM_PROTO = {v: k for k, v in _ACTION_TO_PROTO.items()}
_KIND = {
    TaskKind.REVIEW: review_pb2.TASK_KIND_REVIEW,
    TaskKind.AUDIT: review_pb2.TASK_KIND_AUDIT,
    TaskKind.CONTEST: review_pb2.TASK_KIND_CONTEST,
}
_STATE = {
    TaskState.OPEN: review_pb2.TASK_STATE_OPEN,
    TaskState.CLAIMED: review_pb2.TASK_STATE_CLAIMED,
    TaskState.DONE: review_pb2.TASK_STATE_DONE,
}


def _plain(value: Any) -> Any:
    if isinstance(value, struct_pb2.Struct):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def from_struct(s: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON values; whole numbers come back as ints (JSON has one number)."""
    return {k: _plain(v) for k, v in s.items()}


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    """A plain mapping as a Struct."""
    s = struct_pb2.Struct()
    if value:
        s.update(dict(value))
    return s


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """An aware datetime as a Timestamp (None stays unset)."""
    if value is None:
        return None
    delta = value - _EPOCH  # aware minus aware: exact, whatever the zone (FromDatetime is slower)
    return timestamp_pb2.Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def timestamp(ts: timestamp_pb2.Timestamp, field: str) -> datetime:
    """A Timestamp as an aware UTC datetime, refusing out-of-range values."""
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidRequest(field, f"not a valid timestamp: {exc}") from None


_MAX_DURATION_SECONDS = 315_576_000_000  # the protobuf Duration's own bound (10,000 years)


def duration(d: duration_pb2.Duration, field: str) -> timedelta | None:
    """A Duration as a timedelta; zero means unset, negative is refused."""
    if d.seconds == 0 and d.nanos == 0:
        return None
    if d.seconds < 0 or d.nanos < 0:
        raise InvalidRequest(field, "must not be negative")
    if d.seconds > _MAX_DURATION_SECONDS or d.nanos > 999_999_999:
        raise InvalidRequest(field, "is beyond the range of a Duration")
    return d.ToTimedelta()


#: Larger inputs are refused with INVALID_ARGUMENT naming the field (the transport allows more).
MAX_INPUT_BYTES = 256 * 1024
MAX_TEXT_BYTES = 16 * 1024


def decide_command(req: decision_pb2.DecideRequest) -> DecideCommand:
    """A DecideRequest as a command; field checks that need the policy happen in the use case."""
    p = req.proposal
    if req.input.ByteSize() > MAX_INPUT_BYTES:
        raise InvalidRequest("input", f"larger than {MAX_INPUT_BYTES} bytes")
    if len(p.explanation) > MAX_TEXT_BYTES:
        raise InvalidRequest("proposal.explanation", f"longer than {MAX_TEXT_BYTES} characters")
    if req.HasField("proposal") and math.isnan(p.confidence):
        raise InvalidRequest("proposal.confidence", "must be a number in [0, 1], got nan")
    wait = duration(req.wait, "wait") if req.HasField("wait") else None
    if wait is not None and wait > timedelta(minutes=10):
        raise InvalidRequest("wait", "must be at most 10 minutes; use WatchDecision for longer")
    return DecideCommand(
        request_id=req.request_id,
        decision_type=req.decision_type,
        subject_ref=req.subject_ref,
        input=from_struct(req.input),
        proposal=Proposal(
            outcome=p.outcome,
            confidence=p.confidence,
            scores=dict(p.scores),
            model=p.model,
            model_version=p.model_version,
            explanation=p.explanation,
        )
        if req.HasField("proposal")
        else None,
        wait=wait,
    )


def submit_command(req: review_pb2.SubmitRequest) -> SubmitCommand:
    """A SubmitRequest as a command (an unspecified action stays None, refused by the use case)."""
    return SubmitCommand(
        task_id=req.task_id,
        action=_ACTION_FROM_PROTO.get(req.action),
        outcome=req.outcome,
        payload=from_struct(req.payload),
        reason=req.reason,
    )


def decision_to_proto(d: Decision) -> decision_pb2.Decision:
    """A domain decision as its wire message."""
    p = d.proposal
    msg = decision_pb2.Decision(
        decision_id=d.decision_id,
        request_id=d.request_id,
        decision_type=d.decision_type,
        subject_ref=d.subject_ref,
        status=_STATUS[d.status],
        final_outcome=d.final_outcome,
        route=d.route,
        queue=d.queue,
        rule=d.rule,
        reasons=list(d.reasons),
        policy=decision_pb2.PolicyRef(name=d.policy_name, version=d.policy_version, digest=d.policy_digest),
        proposal=decision_pb2.Proposal(
            outcome=p.outcome,
            confidence=p.confidence,
            scores=dict(p.scores),
            model=p.model,
            model_version=p.model_version,
            explanation=p.explanation,
        ),
        reviewer=d.reviewer,
        review_reason=d.review_reason,
        sampled=d.sampled,
        sample_probability=d.sample_probability,
        significant=d.significant,
        created_at=to_timestamp(d.created_at),
        decided_at=to_timestamp(d.decided_at),
    )
    if d.input:
        msg.input.CopyFrom(to_struct(d.input))
    if d.final_payload:
        msg.final_payload.CopyFrom(to_struct(d.final_payload))
    if d.action is not None:
        msg.action = _ACTION_TO_PROTO[d.action]
    c = d.correction
    if c is not None:
        msg.correction.CopyFrom(
            decision_pb2.Correction(
                outcome=c.outcome,
                payload=to_struct(c.payload) if c.payload else None,
                action=_ACTION_TO_PROTO[c.action],
                reviewer=c.reviewer,
                reason=c.reason,
                corrected_at=to_timestamp(c.at),
            )
        )
    for k in d.contests:
        msg.contests.append(
            decision_pb2.Contest(
                task_id=k.task_id,
                queue=k.queue,
                filed_by=k.filed_by,
                filed_at=to_timestamp(k.filed_at),
                statement=k.statement,
                state=_CONTEST_STATE[k.state],
                original_outcome=k.original_outcome,
                outcome=k.outcome,
                decided_by=k.decided_by,
                reason=k.reason,
                decided_at=to_timestamp(k.decided_at),
            )
        )
    return msg


_CONTEST_STATE = {
    "open": decision_pb2.CONTEST_STATE_OPEN,
    "upheld": decision_pb2.CONTEST_STATE_UPHELD,
    "reversed": decision_pb2.CONTEST_STATE_REVERSED,
}


def task_to_proto(t: Task) -> review_pb2.Task:
    """A review task as its wire message."""
    return review_pb2.Task(
        task_id=t.task_id,
        decision_id=t.decision_id,
        queue=t.queue,
        kind=_KIND[t.kind],
        state=_STATE[t.state],
        created_at=to_timestamp(t.created_at),
        claimed_by=t.claimed_by,
        lease_expires_at=to_timestamp(t.lease_expires_at),
        blind=t.blind,
        initial_outcome=t.initial_outcome,
        revealed_at=to_timestamp(t.revealed_at),
    )
