import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from signoff.v1 import decision_pb2 as _decision_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditEvent(_message.Message):
    __slots__ = ("seq", "time", "type", "decision_id", "actor", "policy", "body_json", "prev_hash", "hash", "decision_type")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    BODY_JSON_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    time: _timestamp_pb2.Timestamp
    type: str
    decision_id: str
    actor: str
    policy: _decision_pb2.PolicyRef
    body_json: str
    prev_hash: str
    hash: str
    decision_type: str
    def __init__(self, seq: _Optional[int] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., decision_id: _Optional[str] = ..., actor: _Optional[str] = ..., policy: _Optional[_Union[_decision_pb2.PolicyRef, _Mapping]] = ..., body_json: _Optional[str] = ..., prev_hash: _Optional[str] = ..., hash: _Optional[str] = ..., decision_type: _Optional[str] = ...) -> None: ...

class QueryEventsRequest(_message.Message):
    __slots__ = ("decision_id", "decision_type", "since", "until", "types", "after_seq", "limit")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    decision_type: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    types: _containers.RepeatedScalarFieldContainer[str]
    after_seq: int
    limit: int
    def __init__(self, decision_id: _Optional[str] = ..., decision_type: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., types: _Optional[_Iterable[str]] = ..., after_seq: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class QueryEventsResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: AuditEvent
    def __init__(self, event: _Optional[_Union[AuditEvent, _Mapping]] = ...) -> None: ...

class VerifyChainRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyChainResponse(_message.Message):
    __slots__ = ("ok", "count", "head_seq", "head_hash", "first_bad_seq", "problem")
    OK_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    HEAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    FIRST_BAD_SEQ_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    first_bad_seq: int
    problem: str
    def __init__(self, ok: _Optional[bool] = ..., count: _Optional[int] = ..., head_seq: _Optional[int] = ..., head_hash: _Optional[str] = ..., first_bad_seq: _Optional[int] = ..., problem: _Optional[str] = ...) -> None: ...

class OverrideStatsRequest(_message.Message):
    __slots__ = ("group_by", "decision_type", "since", "until")
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    group_by: _containers.RepeatedScalarFieldContainer[str]
    decision_type: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, group_by: _Optional[_Iterable[str]] = ..., decision_type: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OverrideStatsGroup(_message.Message):
    __slots__ = ("key", "reviewed", "approved", "edited", "overridden", "rejected", "override_rate", "median_time_to_decision_seconds")
    class KeyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KEY_FIELD_NUMBER: _ClassVar[int]
    REVIEWED_FIELD_NUMBER: _ClassVar[int]
    APPROVED_FIELD_NUMBER: _ClassVar[int]
    EDITED_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_RATE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_TIME_TO_DECISION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    key: _containers.ScalarMap[str, str]
    reviewed: int
    approved: int
    edited: int
    overridden: int
    rejected: int
    override_rate: float
    median_time_to_decision_seconds: float
    def __init__(self, key: _Optional[_Mapping[str, str]] = ..., reviewed: _Optional[int] = ..., approved: _Optional[int] = ..., edited: _Optional[int] = ..., overridden: _Optional[int] = ..., rejected: _Optional[int] = ..., override_rate: _Optional[float] = ..., median_time_to_decision_seconds: _Optional[float] = ...) -> None: ...

class OverrideStatsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[OverrideStatsGroup]
    def __init__(self, groups: _Optional[_Iterable[_Union[OverrideStatsGroup, _Mapping]]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("decision_id", "decision_type", "since", "until", "types", "actor", "policy_name", "policy_version", "page_size", "page_token")
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    decision_type: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    types: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    policy_name: str
    policy_version: int
    page_size: int
    page_token: str
    def __init__(self, decision_id: _Optional[str] = ..., decision_type: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., types: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., policy_name: _Optional[str] = ..., policy_version: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class QueryDecisionsRequest(_message.Message):
    __slots__ = ("since", "until", "decision_type", "policy_name", "policy_version", "route", "queue", "reviewer", "action", "overridden", "subject_ref", "status", "decision_id", "page_size", "page_token")
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    POLICY_NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    OVERRIDDEN_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_REF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    decision_type: str
    policy_name: str
    policy_version: int
    route: str
    queue: str
    reviewer: str
    action: str
    overridden: bool
    subject_ref: str
    status: str
    decision_id: str
    page_size: int
    page_token: str
    def __init__(self, since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_type: _Optional[str] = ..., policy_name: _Optional[str] = ..., policy_version: _Optional[int] = ..., route: _Optional[str] = ..., queue: _Optional[str] = ..., reviewer: _Optional[str] = ..., action: _Optional[str] = ..., overridden: _Optional[bool] = ..., subject_ref: _Optional[str] = ..., status: _Optional[str] = ..., decision_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class QueryDecisionsResponse(_message.Message):
    __slots__ = ("decisions", "next_page_token")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[_decision_pb2.Decision]
    next_page_token: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[_decision_pb2.Decision, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExplainDecisionRequest(_message.Message):
    __slots__ = ("decision_id",)
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    decision_id: str
    def __init__(self, decision_id: _Optional[str] = ...) -> None: ...

class ExplainDecisionResponse(_message.Message):
    __slots__ = ("trail_json",)
    TRAIL_JSON_FIELD_NUMBER: _ClassVar[int]
    trail_json: str
    def __init__(self, trail_json: _Optional[str] = ...) -> None: ...

class ReviewerStatsRequest(_message.Message):
    __slots__ = ("decision_type", "since", "until", "by_queue")
    DECISION_TYPE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    BY_QUEUE_FIELD_NUMBER: _ClassVar[int]
    decision_type: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    by_queue: bool
    def __init__(self, decision_type: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., by_queue: _Optional[bool] = ...) -> None: ...

class OverrideRatio(_message.Message):
    __slots__ = ("observed", "expected", "has_ratio", "ratio", "lower", "upper")
    OBSERVED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    HAS_RATIO_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    observed: int
    expected: float
    has_ratio: bool
    ratio: float
    lower: float
    upper: float
    def __init__(self, observed: _Optional[int] = ..., expected: _Optional[float] = ..., has_ratio: _Optional[bool] = ..., ratio: _Optional[float] = ..., lower: _Optional[float] = ..., upper: _Optional[float] = ...) -> None: ...

class ReviewerStatsRow(_message.Message):
    __slots__ = ("reviewer", "queue", "reviews", "has_median_seconds", "median_claim_to_submit_seconds", "has_approval_rate", "approval_rate", "has_agreement_ordinary", "agreement_ordinary", "has_agreement_blind", "agreement_blind", "blind_reviews", "gold_reviews", "has_gold_accuracy", "gold_accuracy", "gold_traps", "gold_traps_accepted", "override_ratio", "has_kappa", "kappa", "kappa_pairs", "flags")
    REVIEWER_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    HAS_MEDIAN_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_CLAIM_TO_SUBMIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    HAS_APPROVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_RATE_FIELD_NUMBER: _ClassVar[int]
    HAS_AGREEMENT_ORDINARY_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_ORDINARY_FIELD_NUMBER: _ClassVar[int]
    HAS_AGREEMENT_BLIND_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_BLIND_FIELD_NUMBER: _ClassVar[int]
    BLIND_REVIEWS_FIELD_NUMBER: _ClassVar[int]
    GOLD_REVIEWS_FIELD_NUMBER: _ClassVar[int]
    HAS_GOLD_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    GOLD_ACCURACY_FIELD_NUMBER: _ClassVar[int]
    GOLD_TRAPS_FIELD_NUMBER: _ClassVar[int]
    GOLD_TRAPS_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    OVERRIDE_RATIO_FIELD_NUMBER: _ClassVar[int]
    HAS_KAPPA_FIELD_NUMBER: _ClassVar[int]
    KAPPA_FIELD_NUMBER: _ClassVar[int]
    KAPPA_PAIRS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    reviewer: str
    queue: str
    reviews: int
    has_median_seconds: bool
    median_claim_to_submit_seconds: float
    has_approval_rate: bool
    approval_rate: float
    has_agreement_ordinary: bool
    agreement_ordinary: float
    has_agreement_blind: bool
    agreement_blind: float
    blind_reviews: int
    gold_reviews: int
    has_gold_accuracy: bool
    gold_accuracy: float
    gold_traps: int
    gold_traps_accepted: int
    override_ratio: OverrideRatio
    has_kappa: bool
    kappa: float
    kappa_pairs: int
    flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reviewer: _Optional[str] = ..., queue: _Optional[str] = ..., reviews: _Optional[int] = ..., has_median_seconds: _Optional[bool] = ..., median_claim_to_submit_seconds: _Optional[float] = ..., has_approval_rate: _Optional[bool] = ..., approval_rate: _Optional[float] = ..., has_agreement_ordinary: _Optional[bool] = ..., agreement_ordinary: _Optional[float] = ..., has_agreement_blind: _Optional[bool] = ..., agreement_blind: _Optional[float] = ..., blind_reviews: _Optional[int] = ..., gold_reviews: _Optional[int] = ..., has_gold_accuracy: _Optional[bool] = ..., gold_accuracy: _Optional[float] = ..., gold_traps: _Optional[int] = ..., gold_traps_accepted: _Optional[int] = ..., override_ratio: _Optional[_Union[OverrideRatio, _Mapping]] = ..., has_kappa: _Optional[bool] = ..., kappa: _Optional[float] = ..., kappa_pairs: _Optional[int] = ..., flags: _Optional[_Iterable[str]] = ...) -> None: ...

class ReviewerStatsResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ReviewerStatsRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[ReviewerStatsRow, _Mapping]]] = ...) -> None: ...
