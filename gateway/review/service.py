"""The use cases: decide, watch, claim, submit, release; each a short story over the ports.

Every state change and its audit events are written in one ``Store.write`` operation, so
the decision tables and the hash-chained log can never disagree, and nothing is answered
before it is durable.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

from gateway.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    UnknownDecisionType,
)
from gateway.policy.model import Policy, Route
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import (
    Action,
    Correction,
    Decision,
    EventDraft,
    Principal,
    Status,
    Task,
    TaskKind,
    TaskState,
)
from gateway.review.ports import Clock, IdGenerator, Notifier, PolicySource, Store, WriteTx
from gateway.review.rules import (
    body_json,
    decision_body,
    evaluate,
    final_body,
    new_decision,
    payload_of,
    request_digest,
    sample_draw,
    signed_outcome,
    validate_decide,
)

__all__ = ["CALLER", "AUDITOR", "DEFAULT_LEASE", "ReviewService"]
T = TypeVar("T")
CALLER = "caller"
AUDITOR = "auditor"
DEFAULT_LEASE = timedelta(minutes=5)
MAX_LEASE = timedelta(hours=8)
_NEEDS_REASON = (Action.EDIT, Action.OVERRIDE, Action.REJECT)


class ReviewService:
    """Decisions in, sign-offs out: the gateway's application layer."""

    def __init__(
        self,
        store: Store,
        policies: PolicySource,
        clock: Clock,
        ids: IdGenerator,
        notifier: Notifier,
        *,
        default_lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.store = store
        self.policies = policies
        self.clock = clock
        self.ids = ids
        self.notifier = notifier
        self.default_lease = default_lease

    # -- decide -------------------------------------------------------------------------

    def decide(self, principal: Principal, cmd: DecideCommand) -> Decision:
        """Route a request by its policy; hold it for review or decide it at once."""
        op, digest = self._prepare_decide(principal, cmd)
        decision = self._check_same_request(cmd, digest, self.store.write(op))
        if cmd.wait and not decision.status.final:
            decision = self._wait_final(decision, cmd.wait.total_seconds())
        return decision

    async def decide_async(
        self,
        principal: Principal,
        cmd: DecideCommand,
        blocking: Callable[..., Awaitable[Decision]],
    ) -> Decision:
        """``decide`` on an event loop: the durable write is awaited; waiting for a sign-off
        (``cmd.wait``) blocks, so it runs through ``blocking(fn, *args)`` (a thread pool)."""
        op, digest = self._prepare_decide(principal, cmd)
        decision = self._check_same_request(cmd, digest, await self.store.write_async(op))
        if cmd.wait and not decision.status.final:
            decision = await blocking(self._wait_final, decision, cmd.wait.total_seconds())
        return decision

    def _prepare_decide(
        self, principal: Principal, cmd: DecideCommand
    ) -> tuple[Callable[[WriteTx], Decision], str]:
        """Check, route and build the records of a Decide: the write op and the request digest."""
        if not principal.has(CALLER):
            raise PermissionDenied(f"{principal.name} lacks the role {CALLER!r}")
        if not cmd.decision_type:
            raise InvalidRequest("decision_type", "must not be empty")
        policy = self.policies.get(cmd.decision_type)
        if policy is None:
            raise UnknownDecisionType(cmd.decision_type)
        validate_decide(cmd, policy)
        digest = request_digest(cmd)
        # No read before the write: the op looks the request id up in its own transaction (a
        # retry gets the stored decision back), so a retry racing its original is still caught.
        route = evaluate(policy, cmd)
        draft = new_decision(principal, cmd, policy, route, digest, self.ids.new(), self.clock.now())
        # The task, the events and their JSON are made here; the writer only inserts and chains.
        task, events = self._decision_records(draft, policy)
        return (lambda tx: self._record_decision(tx, draft, task, events)), digest

    @staticmethod
    def _check_same_request(cmd: DecideCommand, digest: str, decision: Decision) -> Decision:
        if decision.request_digest != digest:
            raise Conflict(f"request_id {cmd.request_id!r} was used with a different request")
        return decision

    def _decision_records(self, d: Decision, policy: Policy) -> tuple[Task | None, list[EventDraft]]:
        """The task (if any) and the audit events that record a new decision ``d``."""
        ev = self._event_factory(d, with_json=True)
        events = [ev("decision_received", d.requested_by, decision_body(d))]
        routed = {
            "route": d.route,
            "rule": d.rule,
            "reasons": list(d.reasons),
            "failed_closed": d.rule == "fail_closed",
            "significant": d.significant,
        }
        events.append(ev("routed", "gateway", routed))
        task: Task | None = None
        if d.status is Status.AUTO_DECIDED:
            events.append(ev("decision_finalized", "gateway", final_body(d, by="auto")))
            if d.sampled:
                queue = policy.sampling.queue or "audit"
                task = self._new_task(d, queue, TaskKind.AUDIT)
                body = {"task_id": task.task_id, "queue": queue, "probability": d.sample_probability}
                events.append(ev("audit_sampled", "gateway", body))
        else:
            task = self._new_task(d, d.queue, TaskKind.REVIEW)
        return task, events

    def _record_decision(
        self, tx: WriteTx, d: Decision, task: Task | None, events: list[EventDraft]
    ) -> Decision:
        prior = tx.decision_by_request(d.request_id)
        if prior is not None:  # a concurrent retry won the race
            return prior
        tx.insert_decision(d)
        for event in events:
            tx.append(event)
        if task is not None:
            tx.insert_task(task)
        return d

    def _new_task(self, d: Decision, queue: str, kind: TaskKind) -> Task:
        return Task(
            task_id=self.ids.new(),
            decision_id=d.decision_id,
            queue=queue,
            kind=kind,
            state=TaskState.OPEN,
            created_at=d.created_at,
            requested_by=d.requested_by,
        )

    def _event_factory(
        self, d: Decision, *, with_json: bool = False
    ) -> Callable[[str, str, dict], EventDraft]:
        now = self.clock.now()

        def make(type_: str, actor: str, body: dict) -> EventDraft:
            full = {"decision_type": d.decision_type, **body}
            return EventDraft(
                type=type_,
                time=now,
                actor=actor,
                decision_id=d.decision_id,
                policy_name=d.policy_name,
                policy_version=d.policy_version,
                policy_digest=d.policy_digest,
                body=full,
                body_json=body_json(full) if with_json else "",
            )

        return make

    # -- read and watch -------------------------------------------------------------------

    def get_decision(self, principal: Principal, decision_id: str) -> Decision:
        """The decision's current state, for its requester, an auditor or its reviewers."""
        if not decision_id:
            raise InvalidRequest("decision_id", "must not be empty")
        decision = self.store.read(lambda tx: tx.decision(decision_id))
        if decision is None:
            raise NotFound(f"no decision {decision_id!r}")
        self._check_may_see(principal, decision)
        return decision

    def watch(
        self, principal: Principal, decision_id: str, *, active: Callable[[], bool] = lambda: True,
        poll_seconds: float = 1.0,
    ) -> Iterator[Decision]:
        """Yield the decision's state now and at each change; stop once it is final."""
        current = self.get_decision(principal, decision_id)
        yield current
        while not current.status.final and active():
            self.notifier.wait(decision_id, poll_seconds)
            latest = self.store.read(lambda tx: tx.decision(decision_id))
            if latest is not None and latest != current:
                current = latest
                yield current

    def _wait_final(self, decision: Decision, seconds: float) -> Decision:
        deadline = time.monotonic() + seconds
        current = decision
        while not current.status.final:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.notifier.wait(decision.decision_id, min(left, 1.0))
            current = self.store.read(lambda tx: tx.decision(decision.decision_id)) or current
        return current

    def _check_may_see(self, principal: Principal, d: Decision) -> None:
        if principal.name == d.requested_by or principal.has(AUDITOR):
            return
        policy = self.policies.get(d.decision_type)
        if policy is not None and any(principal.roles & set(q.roles) for q in policy.queues.values()):
            return
        raise PermissionDenied(f"{principal.name} may not see decision {d.decision_id}")

    # -- queues -------------------------------------------------------------------------

    def queue_roles(self, queue: str) -> frozenset[str]:
        """Every role that may review from ``queue`` across the loaded policies."""
        roles: set[str] = set()
        for policy in self.policies.all():
            q = policy.queues.get(queue)
            if q is not None:
                roles.update(q.roles)
        return frozenset(roles)

    def _check_reviewer(self, principal: Principal, queue: str) -> None:
        if not queue:
            raise InvalidRequest("queue", "must not be empty")
        roles = self.queue_roles(queue)
        if not roles:
            raise NotFound(f"no loaded policy declares the queue {queue!r}")
        if not principal.roles & roles:
            raise PermissionDenied(f"{principal.name} may not review from queue {queue!r}")

    def list_tasks(self, principal: Principal, queue: str, limit: int = 100) -> list[Task]:
        """The queue's tasks not yet done, oldest first."""
        self._check_reviewer(principal, queue)
        if limit < 0 or limit > 1000:
            raise InvalidRequest("page_size", "must be between 0 and 1000")
        now = self.clock.now()
        return self.store.read(lambda tx: tx.open_tasks(queue, now, limit or 100))

    async def perform(self, op: Callable[[WriteTx], T]) -> T:
        """Run a planned write (``plan_claim``, ``plan_submit``, ``plan_release``) on an event
        loop: the same op ``claim_next``, ``submit`` and ``release`` give ``Store.write``."""
        return await self.store.write_async(op)

    def claim_next(
        self, principal: Principal, queue: str, lease: timedelta | None = None
    ) -> tuple[Task, Decision] | None:
        """Lease the oldest claimable task of ``queue`` to the principal, or None if empty."""
        return self.store.write(self.plan_claim(principal, queue, lease))

    def plan_claim(
        self, principal: Principal, queue: str, lease: timedelta | None = None
    ) -> Callable[[WriteTx], tuple[Task, Decision] | None]:
        """Check a claim and return its write op (see ``claim_next``)."""
        self._check_reviewer(principal, queue)
        lease = lease or self.default_lease
        if lease <= timedelta(0) or lease > MAX_LEASE:
            raise InvalidRequest("lease", f"must be positive and at most {MAX_LEASE}")

        def op(tx: WriteTx) -> tuple[Task, Decision] | None:
            now = self.clock.now()
            self._release_lapsed(tx, now)
            task = tx.claim_next(queue, now, now + lease, principal.name)
            if task is None:
                return None
            d = tx.decision(task.decision_id)
            assert d is not None
            if task.kind is TaskKind.REVIEW:
                d = dataclasses.replace(d, status=Status.IN_REVIEW)
                tx.update_decision(d)
            body = {
                "task_id": task.task_id,
                "queue": task.queue,
                "kind": task.kind.value,
                "lease_expires_at": task.lease_expires_at.isoformat() if task.lease_expires_at else "",
            }
            tx.append(self._event_factory(d)("review_claimed", principal.name, body))
            return task, d

        return op

    def release(self, principal: Principal, task_id: str, reason: str = "") -> Task:
        """Hand a claimed task back to its queue."""
        return self.store.write(self.plan_release(principal, task_id, reason))

    def plan_release(self, principal: Principal, task_id: str, reason: str = "") -> Callable[[WriteTx], Task]:
        """The write op of ``release``."""

        def op(tx: WriteTx) -> Task:
            now = self.clock.now()
            task = self._own_live_task(tx, principal, task_id, now)
            return self._release(tx, task, principal.name, reason or "released")

        return op

    def expire_leases(self) -> int:
        """Return every lapsed lease's task to its queue; the count released."""
        return self.store.write(lambda tx: self._release_lapsed(tx, self.clock.now()))

    def _release_lapsed(self, tx: WriteTx, now: datetime) -> int:
        lapsed = tx.lapsed_leases(now, 100)
        for task in lapsed:
            self._release(tx, task, "gateway", "lease_expired")
        return len(lapsed)

    def _release(self, tx: WriteTx, task: Task, actor: str, reason: str) -> Task:
        released = dataclasses.replace(
            task, state=TaskState.OPEN, claimed_by="", claimed_at=None, lease_expires_at=None
        )
        tx.update_task(released)
        d = tx.decision(task.decision_id)
        assert d is not None
        if task.kind is TaskKind.REVIEW and d.status is Status.IN_REVIEW:
            d = dataclasses.replace(d, status=Status.PENDING_REVIEW)
            tx.update_decision(d)
        body = {"task_id": task.task_id, "queue": task.queue, "reason": reason, "claimed_by": task.claimed_by}
        tx.append(self._event_factory(d)("review_released", actor, body))
        return released

    def _own_live_task(self, tx: WriteTx, principal: Principal, task_id: str, now: datetime) -> Task:
        if not task_id:
            raise InvalidRequest("task_id", "must not be empty")
        task = tx.task(task_id)
        if task is None:
            raise NotFound(f"no task {task_id!r}")
        if task.state is TaskState.DONE:
            raise PreconditionFailed(f"task {task_id} was already submitted")
        if task.state is not TaskState.CLAIMED or task.claimed_by != principal.name:
            raise PreconditionFailed(f"task {task_id} is not claimed by {principal.name}")
        if task.lease_expires_at is None or task.lease_expires_at <= now:
            raise PreconditionFailed(f"the lease on task {task_id} has expired; claim it again")
        return task

    # -- submit ---------------------------------------------------------------------------

    def submit(self, principal: Principal, cmd: SubmitCommand) -> tuple[Decision, Task]:
        """Sign off a claimed task once: approve, edit, override or reject, with a reason."""
        return self.store.write(self.plan_submit(principal, cmd))

    def plan_submit(self, principal: Principal, cmd: SubmitCommand) -> Callable[[WriteTx], tuple[Decision, Task]]:
        """Check a sign-off and return its write op (see ``submit``)."""
        if cmd.action is None:
            raise InvalidRequest("action", "must be APPROVE, EDIT, OVERRIDE or REJECT")
        if cmd.action in _NEEDS_REASON and not cmd.reason.strip():
            raise InvalidRequest("reason", f"{cmd.action.value} needs a reason")

        def op(tx: WriteTx) -> tuple[Decision, Task]:
            now = self.clock.now()
            task = self._own_live_task(tx, principal, cmd.task_id, now)
            d = tx.decision(task.decision_id)
            assert d is not None
            if d.requested_by == principal.name:
                raise PermissionDenied("the principal that requested a decision may not review it")
            outcome = signed_outcome(d, cmd, self.policies.get(d.decision_type))
            done = dataclasses.replace(task, state=TaskState.DONE)
            tx.update_task(done)
            ev = self._event_factory(d)
            took = (now - d.created_at).total_seconds()
            tx.append(ev("review_submitted", principal.name, {
                "task_id": task.task_id,
                "queue": task.queue,
                "kind": task.kind.value,
                "rule": d.rule,
                "reviewer": principal.name,
                "action": cmd.action.value,
                "outcome": outcome,
                "proposal_outcome": d.proposal.outcome,
                "confidence": d.proposal.confidence,
                "was_override": outcome != d.proposal.outcome,
                "payload": payload_of(cmd.payload),
                "reason": cmd.reason,
                "policy_name": d.policy_name,
                "policy_version": d.policy_version,
                "time_to_decision_seconds": took,
            }))
            if task.kind is TaskKind.AUDIT:
                d = self._correct(tx, d, cmd, outcome, principal, now)
            else:
                d = dataclasses.replace(
                    d,
                    status=Status.HUMAN_DECIDED,
                    final_outcome=outcome,
                    final_payload=payload_of(cmd.payload),
                    action=cmd.action,
                    reviewer=principal.name,
                    review_reason=cmd.reason,
                    decided_at=now,
                )
                tx.update_decision(d)
                tx.append(ev("decision_finalized", principal.name, final_body(d, by="human")))
            return d, done

        return op

    def _correct(
        self, tx: WriteTx, d: Decision, cmd: SubmitCommand, outcome: str, principal: Principal, now: datetime
    ) -> Decision:
        if cmd.action is Action.APPROVE:
            return d
        correction = Correction(
            outcome=outcome,
            payload=payload_of(cmd.payload),
            action=cmd.action,  # type: ignore[arg-type]
            reviewer=principal.name,
            reason=cmd.reason,
            at=now,
        )
        d = dataclasses.replace(d, correction=correction)
        tx.update_decision(d)
        tx.append(self._event_factory(d)("correction", principal.name, {
            "original_outcome": d.final_outcome,
            "outcome": outcome,
            "payload": dict(correction.payload),
            "action": correction.action.value,
            "reason": cmd.reason,
        }))
        return d
