"""Thin servicers: convert the request, call the use case, convert the answer back.

The lower-case methods are coroutines on the event loop (the use cases are async: writes
await their durable group commit, reads run off the loop, watchers wait on the loop with no
thread each). The capitalised methods are plain blocking code that ``gateway.rpc.server``
runs on a thread pool (through ``Guard``).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import structlog

from gateway.errors import InvalidRequest, NotFound, PreconditionFailed
from gateway.policy.loader import text_digest
from gateway.review.change import Receipt
from gateway.review.ports import StoredPolicy
from gateway.review.service import ReviewService
from gateway.rpc import convert
from gateway.rpc.calls import ThreadContext, current_principal
from gateway.rpc.metrics import Metrics
from signoff.v1 import (
    decision_pb2,
    decision_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
    review_pb2,
    review_pb2_grpc,
)

_bind = structlog.contextvars.bind_contextvars

__all__ = [
    "DecisionServicer",
    "PolicyServicer",
    "ReviewServicer",
]


class DecisionServicer(decision_pb2_grpc.DecisionServiceServicer):
    """Decide, GetDecision, WatchDecision."""

    def __init__(self, service: ReviewService, metrics: Metrics) -> None:
        self.service = service
        self.metrics = metrics
        self._latency = metrics.decide_latency
        self._counted: dict[tuple[str, str], Any] = {}

    async def decide(self, request: decision_pb2.DecideRequest, context: Any) -> decision_pb2.DecideResponse:
        """Decide, on the event loop: route, then await the batch that makes it durable."""
        started = time.perf_counter()
        try:
            cmd = convert.decide_command(request)
            decision, receipt = await self.service.decide_with_receipt(
                current_principal(), cmd, time_left=context.time_remaining()
            )
        finally:  # as ``Histogram.time()`` did: failures are timed too
            self._latency.observe(time.perf_counter() - started)
        _bind(decision_id=decision.decision_id, policy=decision.policy_name, policy_version=decision.policy_version)
        key = (decision.decision_type, decision.route)
        counter = self._counted.get(key)
        if counter is None:  # a labelled child is a dict lookup under a lock: look it up once
            counter = self._counted[key] = self.metrics.decisions.labels(*key)
        counter.inc()
        return decision_pb2.DecideResponse(decision=convert.decision_to_proto(decision), receipt=_receipt(receipt))

    async def get_decision(
        self, request: decision_pb2.GetDecisionRequest, context: Any
    ) -> decision_pb2.GetDecisionResponse:
        """GetDecision."""
        decision = await self.service.get_decision(current_principal(), request.decision_id)
        _bind(decision_id=decision.decision_id)
        return decision_pb2.GetDecisionResponse(decision=convert.decision_to_proto(decision))

    async def contest_decision(
        self, request: decision_pb2.ContestDecisionRequest, context: Any
    ) -> decision_pb2.ContestDecisionResponse:
        """ContestDecision: a contest of a final decision, filed for its data subject."""
        task, decision = await self.service.contest_decision(
            current_principal(), request.decision_id, request.statement
        )
        _bind(decision_id=decision.decision_id, task_id=task.task_id)
        return decision_pb2.ContestDecisionResponse(decision=convert.decision_to_proto(decision), task_id=task.task_id)

    async def watch_decision(
        self, request: decision_pb2.WatchDecisionRequest, context: Any
    ) -> AsyncIterator[decision_pb2.WatchDecisionResponse]:
        """WatchDecision: the state now and at each change, until final (on the loop)."""
        async for decision in self.service.watch(current_principal(), request.decision_id):
            yield decision_pb2.WatchDecisionResponse(decision=convert.decision_to_proto(decision))


class ReviewServicer(review_pb2_grpc.ReviewServiceServicer):
    """ListTasks, ClaimNext, Submit, Release, RenewLease: all on the loop."""

    def __init__(self, service: ReviewService, metrics: Metrics) -> None:
        self.service = service
        self.metrics = metrics

    async def list_tasks(self, request: review_pb2.ListTasksRequest, context: Any) -> review_pb2.ListTasksResponse:
        """ListTasks."""
        tasks = await self.service.list_tasks(current_principal(), request.queue, request.page_size)
        return review_pb2.ListTasksResponse(tasks=[convert.task_to_proto(t) for t in tasks])

    async def claim_next(self, request: review_pb2.ClaimNextRequest, context: Any) -> review_pb2.ClaimNextResponse:
        """ClaimNext: lease the oldest claimable task of the queue."""
        lease = convert.duration(request.lease, "lease") if request.HasField("lease") else None
        claimed = await self.service.claim_next(current_principal(), request.queue, lease)
        if claimed is None:
            return review_pb2.ClaimNextResponse()
        task, decision = claimed
        _bind(decision_id=decision.decision_id, task_id=task.task_id)
        return review_pb2.ClaimNextResponse(
            task=convert.task_to_proto(task), decision=convert.decision_to_proto(decision)
        )

    async def submit(self, request: review_pb2.SubmitRequest, context: Any) -> review_pb2.SubmitResponse:
        """Submit: sign off a claimed task."""
        decision, task, receipt = await self.service.submit_with_receipt(
            current_principal(), convert.submit_command(request)
        )
        _bind(decision_id=decision.decision_id, task_id=task.task_id)
        self.metrics.reviews.labels(
            task.queue, decision_pb2.ReviewAction.Name(request.action).removeprefix("REVIEW_ACTION_")
        ).inc()
        return review_pb2.SubmitResponse(
            decision=convert.decision_to_proto(decision), task=convert.task_to_proto(task), receipt=_receipt(receipt)
        )

    async def release(self, request: review_pb2.ReleaseRequest, context: Any) -> review_pb2.ReleaseResponse:
        """Release: hand a claimed task back to its queue."""
        task = await self.service.release(current_principal(), request.task_id, request.reason)
        _bind(decision_id=task.decision_id, task_id=task.task_id)
        return review_pb2.ReleaseResponse(task=convert.task_to_proto(task))

    async def renew_lease(self, request: review_pb2.RenewLeaseRequest, context: Any) -> review_pb2.RenewLeaseResponse:
        """RenewLease: extend the caller's live lease (a heartbeat)."""
        lease = convert.duration(request.lease, "lease") if request.HasField("lease") else None
        task = await self.service.renew_lease(current_principal(), request.task_id, lease)
        return review_pb2.RenewLeaseResponse(task=convert.task_to_proto(task))

    async def record_initial_outcome(
        self, request: review_pb2.RecordInitialOutcomeRequest, context: Any
    ) -> review_pb2.RecordInitialOutcomeResponse:
        """RecordInitialOutcome: the holder's outcome on a blind-first task; the answer reveals the proposal."""
        task, decision = await self.service.record_initial_outcome(
            current_principal(), request.task_id, request.outcome
        )
        _bind(decision_id=decision.decision_id, task_id=task.task_id)
        return review_pb2.RecordInitialOutcomeResponse(
            task=convert.task_to_proto(task), decision=convert.decision_to_proto(decision)
        )

    async def reopen_decision(
        self, request: review_pb2.ReopenDecisionRequest, context: Any
    ) -> review_pb2.ReopenDecisionResponse:
        """ReopenDecision: open an automatic decision for human review (a role the policy names)."""
        task = await self.service.reopen_decision(current_principal(), request.decision_id, request.reason)
        return review_pb2.ReopenDecisionResponse(task=convert.task_to_proto(task))


def _receipt(r: Receipt | None) -> decision_pb2.Receipt | None:
    """The chain position of a call's last event, or None (unset) when it wrote none."""
    return None if r is None else decision_pb2.Receipt(seq=r.seq, hash=r.hash)


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

    def ListPolicies(
        self, request: policy_pb2.ListPoliciesRequest, context: ThreadContext
    ) -> policy_pb2.ListPoliciesResponse:
        current_principal()
        stored = self.service.store.read(lambda tx: tx.policies())
        return policy_pb2.ListPoliciesResponse(policies=[self._info(p) for p in stored])

    def GetPolicy(self, request: policy_pb2.GetPolicyRequest, context: ThreadContext) -> policy_pb2.GetPolicyResponse:
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
        if text_digest(stored.text) != stored.ref.digest:  # the table was edited: never serve that text
            raise PreconditionFailed(
                f"policy {request.name!r} version {version}: the stored text does not match its digest "
                f"{stored.ref.digest}; refusing to present it (policy_versions was edited)"
            )
        return policy_pb2.GetPolicyResponse(policy=self._info(stored), text=stored.text)
