"""Thin servicers: convert the request, call the use case, convert the answer back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import grpc
import structlog

from gateway.errors import InvalidRequest, NotFound, PermissionDenied
from gateway.review.model import Principal
from gateway.review.ports import StoredPolicy
from gateway.review.service import AUDITOR, ReviewService
from gateway.rpc import convert
from gateway.rpc.interceptors import current_principal
from gateway.rpc.metrics import Metrics
from signoff.v1 import (
    audit_pb2,
    audit_pb2_grpc,
    decision_pb2,
    decision_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
    review_pb2,
    review_pb2_grpc,
)

__all__ = [
    "AuditReader",
    "AuditServicer",
    "DecisionServicer",
    "PolicyServicer",
    "ReviewServicer",
]


class AuditReader(Protocol):
    """What the audit servicer reads: events, chain verification, override statistics."""

    def events(self, **filters: Any) -> Iterator[Any]: ...
    def verify(self) -> Any: ...
    def override_stats(self, group_by: list[str], **filters: Any) -> list[Any]: ...


class DecisionServicer(decision_pb2_grpc.DecisionServiceServicer):
    """Decide, GetDecision, WatchDecision."""

    def __init__(self, service: ReviewService, metrics: Metrics) -> None:
        self.service = service
        self.metrics = metrics

    def Decide(self, request: decision_pb2.DecideRequest, context: grpc.ServicerContext) -> decision_pb2.DecideResponse:
        with self.metrics.decide_latency.time():
            cmd = convert.decide_command(request)
            decision = self.service.decide(current_principal(), cmd)
        structlog.contextvars.bind_contextvars(
            decision_id=decision.decision_id, policy=decision.policy_name, policy_version=decision.policy_version
        )
        self.metrics.decisions.labels(decision.decision_type, decision.route).inc()
        return decision_pb2.DecideResponse(decision=convert.decision_to_proto(decision))

    def GetDecision(
        self, request: decision_pb2.GetDecisionRequest, context: grpc.ServicerContext
    ) -> decision_pb2.GetDecisionResponse:
        decision = self.service.get_decision(current_principal(), request.decision_id)
        return decision_pb2.GetDecisionResponse(decision=convert.decision_to_proto(decision))

    def WatchDecision(
        self, request: decision_pb2.WatchDecisionRequest, context: grpc.ServicerContext
    ) -> Iterator[decision_pb2.WatchDecisionResponse]:
        for decision in self.service.watch(current_principal(), request.decision_id, active=context.is_active):
            yield decision_pb2.WatchDecisionResponse(decision=convert.decision_to_proto(decision))


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    """ListTasks, ClaimNext, Submit, Release."""

    def __init__(self, service: ReviewService, metrics: Metrics) -> None:
        self.service = service
        self.metrics = metrics

    def ListTasks(self, request: review_pb2.ListTasksRequest, context: grpc.ServicerContext) -> review_pb2.ListTasksResponse:
        tasks = self.service.list_tasks(current_principal(), request.queue, request.page_size)
        return review_pb2.ListTasksResponse(tasks=[convert.task_to_proto(t) for t in tasks])

    def ClaimNext(self, request: review_pb2.ClaimNextRequest, context: grpc.ServicerContext) -> review_pb2.ClaimNextResponse:
        lease = convert.duration(request.lease, "lease") if request.HasField("lease") else None
        claimed = self.service.claim_next(current_principal(), request.queue, lease)
        if claimed is None:
            return review_pb2.ClaimNextResponse()
        task, decision = claimed
        return review_pb2.ClaimNextResponse(
            task=convert.task_to_proto(task), decision=convert.decision_to_proto(decision)
        )

    def Submit(self, request: review_pb2.SubmitRequest, context: grpc.ServicerContext) -> review_pb2.SubmitResponse:
        decision, task = self.service.submit(current_principal(), convert.submit_command(request))
        self.metrics.reviews.labels(task.queue, decision_pb2.ReviewAction.Name(request.action).removeprefix("REVIEW_ACTION_")).inc()
        return review_pb2.SubmitResponse(
            decision=convert.decision_to_proto(decision), task=convert.task_to_proto(task)
        )

    def Release(self, request: review_pb2.ReleaseRequest, context: grpc.ServicerContext) -> review_pb2.ReleaseResponse:
        task = self.service.release(current_principal(), request.task_id, request.reason)
        return review_pb2.ReleaseResponse(task=convert.task_to_proto(task))


def _require_auditor(principal: Principal) -> None:
    if not principal.has(AUDITOR):
        raise PermissionDenied(f"{principal.name} lacks the role {AUDITOR!r}")


def _time_range(request: Any) -> dict[str, datetime | None]:
    since = convert.timestamp(request.since, "since") if request.HasField("since") else None
    until = convert.timestamp(request.until, "until") if request.HasField("until") else None
    if since and until and since > until:
        raise InvalidRequest("since", "is after until")
    return {"since": since, "until": until}


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """QueryEvents, VerifyChain, OverrideStats: auditors only."""

    GROUP_KEYS = ("policy_name", "policy_version", "queue", "rule", "reviewer")

    def __init__(self, reader: AuditReader) -> None:
        self.reader = reader

    def QueryEvents(
        self, request: audit_pb2.QueryEventsRequest, context: grpc.ServicerContext
    ) -> Iterator[audit_pb2.QueryEventsResponse]:
        _require_auditor(current_principal())
        if request.limit < 0 or request.after_seq < 0:
            raise InvalidRequest("limit" if request.limit < 0 else "after_seq", "must not be negative")
        events = self.reader.events(
            decision_id=request.decision_id or None,
            decision_type=request.decision_type or None,
            types=list(request.types) or None,
            after_seq=request.after_seq,
            limit=request.limit or None,
            **_time_range(request),
        )
        for e in events:
            yield audit_pb2.QueryEventsResponse(event=audit_pb2.AuditEvent(
                seq=e.seq,
                time=convert.to_timestamp(e.time),
                type=e.type,
                decision_id=e.decision_id,
                actor=e.actor,
                policy=decision_pb2.PolicyRef(name=e.policy_name, version=e.policy_version, digest=e.policy_digest),
                body_json=e.body_json,
                prev_hash=e.prev_hash,
                hash=e.hash,
                decision_type=getattr(e, "decision_type", ""),
            ))

    def VerifyChain(self, request: audit_pb2.VerifyChainRequest, context: grpc.ServicerContext) -> audit_pb2.VerifyChainResponse:
        _require_auditor(current_principal())
        r = self.reader.verify()
        return audit_pb2.VerifyChainResponse(
            ok=r.ok, count=r.count, head_seq=r.head_seq or 0, head_hash=r.head_hash or "",
            first_bad_seq=r.first_bad_seq or 0, problem=r.problem or "",
        )

    def OverrideStats(
        self, request: audit_pb2.OverrideStatsRequest, context: grpc.ServicerContext
    ) -> audit_pb2.OverrideStatsResponse:
        _require_auditor(current_principal())
        group_by = list(request.group_by) or ["policy_version", "queue"]
        for key in group_by:
            if key not in self.GROUP_KEYS:
                raise InvalidRequest("group_by", f"{key!r} is not one of: {', '.join(self.GROUP_KEYS)}")
        groups = self.reader.override_stats(
            group_by, decision_type=request.decision_type or None, **_time_range(request)
        )
        return audit_pb2.OverrideStatsResponse(groups=[
            audit_pb2.OverrideStatsGroup(
                key={k: str(v) for k, v in g.key.items()},
                reviewed=g.reviewed, approved=g.approved, edited=g.edited,
                overridden=g.overridden, rejected=g.rejected, override_rate=g.override_rate,
                median_time_to_decision_seconds=g.median_time_to_decision_seconds or 0.0,
            )
            for g in groups
        ])


class PolicyServicer(policy_pb2_grpc.PolicyServiceServicer):
    """ListPolicies and GetPolicy: the stored text of every version ever loaded."""

    def __init__(self, service: ReviewService) -> None:
        self.service = service

    def _info(self, p: StoredPolicy) -> policy_pb2.PolicyInfo:
        active = self.service.policies.get(p.decision_type)
        return policy_pb2.PolicyInfo(
            ref=decision_pb2.PolicyRef(name=p.ref.name, version=p.ref.version, digest=p.ref.digest),
            decision_type=p.decision_type,
            active=active is not None and active.ref == p.ref,
            loaded_at=convert.to_timestamp(p.loaded_at),
        )

    def ListPolicies(self, request: policy_pb2.ListPoliciesRequest, context: grpc.ServicerContext) -> policy_pb2.ListPoliciesResponse:
        current_principal()
        stored = self.service.store.read(lambda tx: tx.policies())
        return policy_pb2.ListPoliciesResponse(policies=[self._info(p) for p in stored])

    def GetPolicy(self, request: policy_pb2.GetPolicyRequest, context: grpc.ServicerContext) -> policy_pb2.GetPolicyResponse:
        current_principal()
        if not request.name:
            raise InvalidRequest("name", "must not be empty")
        if request.version < 0:
            raise InvalidRequest("version", "must not be negative")
        version = request.version
        if version == 0:
            active = next((p for p in self.service.policies.all() if p.name == request.name), None)
            if active is None:
                raise NotFound(f"no active policy named {request.name!r}")
            version = active.version
        stored = self.service.store.read(lambda tx: tx.policy(request.name, version))
        if stored is None:
            raise NotFound(f"no stored policy {request.name!r} version {version}")
        return policy_pb2.GetPolicyResponse(policy=self._info(stored), text=stored.text)
