import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DecisionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_STATUS_UNSPECIFIED: _ClassVar[DecisionStatus]
    DECISION_STATUS_AUTO_DECIDED: _ClassVar[DecisionStatus]
    DECISION_STATUS_PENDING_REVIEW: _ClassVar[DecisionStatus]
    DECISION_STATUS_IN_REVIEW: _ClassVar[DecisionStatus]
    DECISION_STATUS_HUMAN_DECIDED: _ClassVar[DecisionStatus]
    DECISION_STATUS_EXPIRED: _ClassVar[DecisionStatus]

class ReviewAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_ACTION_UNSPECIFIED: _ClassVar[ReviewAction]
    REVIEW_ACTION_APPROVE: _ClassVar[ReviewAction]
    REVIEW_ACTION_EDIT: _ClassVar[ReviewAction]
    REVIEW_ACTION_OVERRIDE: _ClassVar[ReviewAction]
    REVIEW_ACTION_REJECT: _ClassVar[ReviewAction]

class ContestState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTEST_STATE_UNSPECIFIED: _ClassVar[ContestState]
    CONTEST_STATE_OPEN: _ClassVar[ContestState]
    CONTEST_STATE_UPHELD: _ClassVar[ContestState]
    CONTEST_STATE_REVERSED: _ClassVar[ContestState]
DECISION_STATUS_UNSPECIFIED: DecisionStatus
DECISION_STATUS_AUTO_DECIDED: DecisionStatus
DECISION_STATUS_PENDING_REVIEW: DecisionStatus
DECISION_STATUS_IN_REVIEW: DecisionStatus
DECISION_STATUS_HUMAN_DECIDED: DecisionStatus
DECISION_STATUS_EXPIRED: DecisionStatus
REVIEW_ACTION_UNSPECIFIED: ReviewAction
REVIEW_ACTION_APPROVE: ReviewAction
REVIEW_ACTION_EDIT: ReviewAction
REVIEW_ACTION_OVERRIDE: ReviewAction
REVIEW_ACTION_REJECT: ReviewAction
CONTEST_STATE_UNSPECIFIED: ContestState
CONTEST_STATE_OPEN: ContestState
CONTEST_STATE_UPHELD: ContestState
CONTEST_STATE_REVERSED: ContestState

class Proposal(_message.Message):
    __slots__ = ("outcome", "confidence", "scores", "model", "model_version", "explanation")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    confidence: float
    scores: _containers.ScalarMap[str, float]
    model: str
    model_version: str
    explanation: str
    def __init__(self, outcome: _Optional[str] = ..., confidence: _Optional[float] = ..., scores: _Optional[_Mapping[str, float]] = ..., model: _Optional[str] = ..., model_version: _Optional[str] = ..., explanation: _Optional[str] = ...) -> None: ...

class PolicyRef(_message.Message):
    __slots__ = ("name", "version", "digest")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    digest: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ..., digest: _Optional[str] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("outcome", "payload", "action", "reviewer", "reason", "corrected_at")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_AT_FIELD_NUMBER: _ClassVar[int]
    outcome: str
    payload: _struct_pb2.Struct
    action: ReviewAction
    reviewer: str
    reason: str
    corrected_at: _timestamp_pb2.Timestamp
    def __init__(self, outcome: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., action: _Optional[_Union[ReviewAction, str]] = ..., reviewer: _Optional[str] = ..., reason: _Optional[str] = ..., corrected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Contest(_message.Message):
    __slots__ = ("task_id", "queue", "filed_by", "filed_at", "statement", "state", "original_outcome", "outcome", "decided_by", "reason", "decided_at")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    FILED_BY_FIELD_NUMBER: _ClassVar[int]
    FILED_AT_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    queue: str
    filed_by: str
    filed_at: _timestamp_pb2.Timestamp
    statement: str
    state: ContestState
    original_outcome: str
    outcome: str
    decided_by: str
    reason: str
    decided_at: _timestamp_pb2.Timestamp
    def __init__(self, task_id: _Optional[str] = ..., queue: _Optional[str] = ..., filed_by: _Optional[str] = ..., filed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., statement: _Optional[str] = ..., state: _Optional[_Union[ContestState, str]] = ..., original_outcome: _Optional[str] = ..., outcome: _Optional[str] = ..., decided_by: _Optional[str] = ..., reason: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("decision_id", "request_id", "decision_type", "subject_ref", "status", "final_outcome", "final_payload", "route", "queue", "rule", "reasons", "policy", "proposal", "input", "action", "reviewer", "review_reason", "sampled", "sample_probability", "correction", "created_at", "decided_at", "significant", "contests")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FINAL_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    FINAL_PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    REVIEW_REASON_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    CONTESTS_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    request_id: str
    decision_type: str
    subject_ref: str
    status: DecisionStatus
    final_outcome: str
    final_payload: _struct_pb2.Struct
    route: str
    queue: str
    rule: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    policy: PolicyRef
    proposal: Proposal
    input: _struct_pb2.Struct
    action: ReviewAction
    reviewer: str
    review_reason: str
    sampled: bool
    sample_probability: float
    correction: Correction
    created_at: _timestamp_pb2.Timestamp
    decided_at: _timestamp_pb2.Timestamp
    significant: bool
    contests: _containers.RepeatedCompositeFieldContainer[Contest]
    def __init__(self, decision_id: _Optional[str] = ..., request_id: _Optional[str] = ..., decision_type: _Optional[str] = ..., subject_ref: _Optional[str] = ..., status: _Optional[_Union[DecisionStatus, str]] = ..., final_outcome: _Optional[str] = ..., final_payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., route: _Optional[str] = ..., queue: _Optional[str] = ..., rule: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., policy: _Optional[_Union[PolicyRef, _Mapping]] = ..., proposal: _Optional[_Union[Proposal, _Mapping]] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., action: _Optional[_Union[ReviewAction, str]] = ..., reviewer: _Optional[str] = ..., review_reason: _Optional[str] = ..., sampled: _Optional[bool] = ..., sample_probability: _Optional[float] = ..., correction: _Optional[_Union[Correction, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., significant: _Optional[bool] = ..., contests: _Optional[_Iterable[_Union[Contest, _Mapping]]] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("request_id", "decision_type", "subject_ref", "input", "proposal", "wait")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_REF_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    decision_type: str
    subject_ref: str
    input: _struct_pb2.Struct
    proposal: Proposal
    wait: _duration_pb2.Duration
    def __init__(self, request_id: _Optional[str] = ..., decision_type: _Optional[str] = ..., subject_ref: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., proposal: _Optional[_Union[Proposal, _Mapping]] = ..., wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ("decision", "receipt")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    receipt: Receipt
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("seq", "hash")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    seq: int
    hash: str
    def __init__(self, seq: _Optional[int] = ..., hash: _Optional[str] = ...) -> None: ...

class GetDecisionRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class GetDecisionResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class WatchDecisionRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class WatchDecisionResponse(_message.Message):
    __slots__ = ("decision",)
    DECISION_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ...) -> None: ...

class ContestDecisionRequest(_message.Message):
    __slots__ = ("decision_id", "statement")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    statement: str
    def __init__(self, decision_id: _Optional[str] = ..., statement: _Optional[str] = ...) -> None: ...

class ContestDecisionResponse(_message.Message):
    __slots__ = ("decision", "task_id")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    task_id: str
    def __init__(self, decision: _Optional[_Union[Decision, _Mapping]] = ..., task_id: _Optional[str] = ...) -> None: ...
