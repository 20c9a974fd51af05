"""The use cases: decide, watch, claim, submit, release; each reads, checks, and plans a Change.

A use case never runs inside the store: it reads a snapshot (off the event loop), checks what
it read, and returns a ``Change`` (plain data: records, guarded updates, canonical audit
events) that ``Store.apply`` makes durable in a group-committed batch. State changes and their
audit events share one Change, so the decision tables and the hash-chained log never disagree,
and nothing is answered before it is durable. A guard that no longer holds (another reviewer
claimed the task meanwhile) fails only that Change, with ``Stale``.

One async API: every use case is a coroutine on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import zlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from audit.record import canonical_json
from gateway.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Stale,
    UnknownDecisionType,
)
from gateway.review.blind import blind_submit, shown_to
from gateway.review.change import Change, Receipt, Update
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.contest import check_statement, plan_contest, plan_contest_submit
from gateway.review.correction import correct
from gateway.review.events import decision_records, event, task_guard
from gateway.review.four_eyes import plan_vote, quorum_for
from gateway.review.gold import gold_marks, with_gold
from gateway.review.leases import checked_lease, claim_candidates, plan_claim, plan_release, plan_renew
from gateway.review.model import (
    Action,
    Decision,
    Principal,
    Status,
    Task,
    TaskKind,
    TaskState,
)
from gateway.review.model_step import ModelSource, fill_proposal
from gateway.review.personal import PersonalData, Sealed, opened, seal_for, seal_reason
from gateway.review.ports import Clock, IdGenerator, Notifier, PolicySource, ReadTx, Store
from gateway.review.reopen import plan_reopen
from gateway.review.reveal import plan_initial
from gateway.review.rules import (
    decide_texts,
    evaluate,
    final_body,
    new_decision,
    payload_of,
    signed_outcome,
    validate_decide,
)

__all__ = ["AUDITOR", "CALLER", "DEFAULT_LEASE", "ReviewService"]
T = TypeVar("T")
CALLER = "caller"
AUDITOR = "auditor"
DEFAULT_LEASE = timedelta(minutes=5)
MAX_LEASE = timedelta(hours=8)
_NEEDS_REASON = (Action.EDIT, Action.OVERRIDE, Action.REJECT)
_CLAIM_TRIES = 12
_CLAIM_CANDIDATES = 32
"""A claim reads the oldest claimable tasks, then guards its update; when other reviewers
took them meanwhile it reads again, trying the next candidates, this many times."""


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
        watch_poll: float = 1.0,
        models: ModelSource | None = None,
        personal: PersonalData | None = None,
    ) -> None:
        self.store = store
        self.policies = policies
        self.clock = clock
        self.ids = ids
        self.notifier = notifier
        self.default_lease = default_lease
        self.watch_poll = watch_poll
        """Seconds a watcher waits at most between reads when no notification wakes it."""
        self.models = models
        """The loaded model bindings, for decision types whose proposal comes from a model."""
        self.personal = personal
        """Seals the policy's personal fields per subject (``review/personal.py``); None: no key store."""

    async def _read(self, op: Callable[[ReadTx], T]) -> T:
        """A snapshot read, off the event loop (in a copy of the call's context)."""
        return await asyncio.to_thread(self.store.read, op)

    # -- decide -------------------------------------------------------------------------

    async def decide(self, principal: Principal, cmd: DecideCommand, *, time_left: float | None = None) -> Decision:
        """Route a request by its policy; hold it for review or decide it at once.

        A retry under the same request id (per caller) returns the stored decision; the same
        id with another body is ``Conflict``. With ``cmd.wait``, wait for a sign-off.
        """
        return (await self.decide_with_receipt(principal, cmd, time_left=time_left))[0]

    async def decide_with_receipt(
        self, principal: Principal, cmd: DecideCommand, *, time_left: float | None = None
    ) -> tuple[Decision, Receipt | None]:
        """``decide``, and the receipt of its last event (None for a retry, which wrote nothing).
        Where the policy's proposal source is a model, the model is asked first (``time_left``:
        the caller's remaining deadline, in seconds)."""
        policy = self.policies.get(cmd.decision_type)
        cmd = await fill_proposal(principal, cmd, policy, self.models, time_left)
        sealed = seal_for(self.personal, policy, cmd.subject_ref, cmd.input) if principal.has(CALLER) else None
        change, decision = self.plan_decide(principal, cmd, sealed)
        change = await with_gold(self._read, change, decision, policy, self.ids.new)  # review/gold.py
        applied = await self.store.apply(change)
        if applied.prior is not None:
            if applied.prior.request_digest != decision.request_digest:
                raise Conflict(f"request_id {cmd.request_id!r} was used with a different request")
            decision = await opened(self.personal, applied.prior)
            if sealed is not None and any(decision.input.get(f) != cmd.input[f] for f in sealed.values):
                # personal fields are not in the digest: compare them opened (erased: cannot match)
                raise Conflict(f"request_id {cmd.request_id!r} was used with different personal data, or it was erased")
        if cmd.wait and not decision.status.final:
            decision = await self._wait_final(decision, cmd.wait.total_seconds())
        return decision, (applied.receipts[-1] if applied.receipts else None)

    def plan_decide(
        self, principal: Principal, cmd: DecideCommand, sealed: Sealed | None = None
    ) -> tuple[Change, Decision]:
        """Check and route a Decide: its Change and the decision it records (no I/O).

        ``sealed`` replaces personal fields in what is stored (its new key, if any, is stored
        with them); the decision returned keeps the caller's plaintext."""
        if not principal.has(CALLER):
            raise PermissionDenied(f"{principal.name} lacks the role {CALLER!r}")
        if not cmd.decision_type:
            raise InvalidRequest("decision_type", "must not be empty")
        if not principal.may_request(cmd.decision_type):
            raise PermissionDenied(f"{principal.name} may not ask for {cmd.decision_type!r} decisions")
        policy = self.policies.get(cmd.decision_type)
        if policy is None:
            raise UnknownDecisionType(cmd.decision_type)
        validate_decide(cmd, policy)
        input_json, digest = decide_texts(cmd, sealed.values if sealed is not None else ())
        route = evaluate(policy, cmd)
        now = self.clock.now()  # once: the decision's time is its events' time
        d = new_decision(principal, cmd, policy, route, digest, self.ids.new(), now, input_json)
        stored = d
        if sealed is not None and sealed.values:
            stored_input = {**cmd.input, **sealed.values}
            input_json = canonical_json(stored_input)
            stored = dataclasses.replace(d, input=stored_input, input_json=input_json)
        task, events = decision_records(stored, policy, input_json, self.ids.new)
        inserts: tuple[Any, ...] = (stored,) if task is None else (stored, task)
        if sealed is not None:
            inserts += sealed.records
        change = Change(inserts=inserts, events=events, request_key=(d.requested_by, d.request_id))
        return change, d

    # -- read and watch -------------------------------------------------------------------

    async def get_decision(self, principal: Principal, decision_id: str) -> Decision:
        """The decision's current state, for those allowed to see it (``_check_may_see``)."""
        if not decision_id:
            raise InvalidRequest("decision_id", "must not be empty")
        decision, tasks = await self._read(lambda tx: (tx.decision(decision_id), tx.tasks_for_decision(decision_id)))
        if decision is None:
            raise NotFound(f"no decision {decision_id!r}")
        self._check_may_see(principal, decision, tasks)
        return await opened(self.personal, shown_to(principal, decision, tasks, self.queue_roles))

    async def watch(self, principal: Principal, decision_id: str) -> AsyncIterator[Decision]:
        """Yield the decision's state now and at each change; stop once it is final.

        Waits on the event loop (no thread per watcher); the notifier wakes it after each
        commit here, or a replica's notification; ``watch_poll`` bounds a missed one.
        """
        listener = self.notifier.listen(decision_id)
        try:
            current = await self.get_decision(principal, decision_id)
            yield current
            while not current.status.final:
                await listener.wait(self.watch_poll)
                latest, tasks = await self._read(
                    lambda tx: (tx.decision(decision_id), tx.tasks_for_decision(decision_id))
                )
                if latest is not None:  # a blind task's proposal stays withheld here too
                    latest = await opened(self.personal, shown_to(principal, latest, tasks, self.queue_roles))
                if latest is not None and latest != current:
                    current = latest
                    yield current
        finally:
            listener.close()

    async def _wait_final(self, decision: Decision, seconds: float) -> Decision:
        deadline = time.monotonic() + seconds
        current = decision
        listener = self.notifier.listen(decision.decision_id)
        try:
            while not current.status.final:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                await listener.wait(min(left, self.watch_poll))
                latest = await self._read(lambda tx: tx.decision(decision.decision_id))
                current = latest if latest is not None else current
        finally:
            listener.close()
        return current

    def _check_may_see(self, principal: Principal, d: Decision, tasks: list[Task]) -> None:
        """Who may read a decision: its requester; an auditor; a reviewer who may work a
        queue one of its tasks is (or was) in, or who reviewed it. Nobody else, so a junior
        reviewer cannot read senior-queue cases."""
        if principal.has(AUDITOR) or (principal.name == d.requested_by and not d.gold_case_id):
            return
        if principal.name and principal.name in {d.reviewer, *(t.claimed_by for t in tasks)}:
            return
        queues = {t.queue for t in tasks} | ({d.queue} if d.queue else set())
        if any(principal.roles & self.queue_roles(q) for q in queues):
            return
        if d.gold_case_id:  # no caller asked for a gold case: outside its queue, it does not exist
            raise NotFound(f"no decision {d.decision_id!r}")
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

    async def list_tasks(self, principal: Principal, queue: str, limit: int = 100) -> list[Task]:
        """The queue's tasks not yet done and not under a live lease, oldest first."""
        self._check_reviewer(principal, queue)
        if limit < 0 or limit > 1000:
            raise InvalidRequest("page_size", "must be between 0 and 1000")
        now = self.clock.now()
        return await self._read(lambda tx: tx.open_tasks(queue, now, limit or 100))

    async def claim_next(
        self, principal: Principal, queue: str, lease: timedelta | None = None
    ) -> tuple[Task, Decision] | None:
        """Lease the oldest claimable task of ``queue`` to the principal, or None if empty."""
        self._check_reviewer(principal, queue)
        lease = checked_lease(lease or self.default_lease, MAX_LEASE)
        for attempt in range(_CLAIM_TRIES):
            now = self.clock.now()
            found = await self._read(
                partial(claim_candidates, queue=queue, now=now, claimer=principal.name, limit=_CLAIM_CANDIDATES)
            )
            if not found:
                return None
            # The oldest first; after a lost race, a candidate that depends on who is claiming,
            # so reviewers racing on one queue spread over its oldest tasks instead of colliding.
            pick = 0 if attempt == 0 else (zlib.crc32(principal.name.encode()) + attempt) % len(found)
            task, d = found[pick]
            change, claimed, d = self.plan_claim(principal, task, d, now, lease)
            try:
                await self.store.apply(change)
            except Stale:
                continue  # another reviewer took it between the read and the write
            return claimed, await opened(self.personal, shown_to(principal, d, [claimed], self.queue_roles))
        raise Stale(f"every claimable task of {queue!r} was taken meanwhile; claim again")

    def plan_claim(
        self, principal: Principal, task: Task, d: Decision, now: datetime, lease: timedelta
    ) -> tuple[Change, Task, Decision]:
        """The Change leasing ``task`` (read as claimable) to the principal (``leases.plan_claim``)."""
        return plan_claim(principal, task, d, now, lease)

    async def release(self, principal: Principal, task_id: str, reason: str = "") -> Task:
        """Hand a claimed task back to its queue."""
        now = self.clock.now()
        task, d = await self._own_live_task(principal, task_id, now)
        change, released = plan_release(task, d, principal.name, reason or "released", now)
        await self.store.apply(change)
        return released

    async def renew_lease(self, principal: Principal, task_id: str, lease: timedelta | None = None) -> Task:
        """Extend the caller's own live lease on a task (a heartbeat); else ``PreconditionFailed``."""
        lease = checked_lease(lease or self.default_lease, MAX_LEASE)
        now = self.clock.now()
        task, d = await self._own_live_task(principal, task_id, now)
        change, renewed = plan_renew(principal, task, d, now, lease)
        await self.store.apply(change)
        return renewed

    async def expire_leases(self) -> int:
        """Return every lapsed lease's task to its queue; the count released."""
        now = self.clock.now()
        lapsed = await self._read(lambda tx: [(t, tx.decision(t.decision_id)) for t in tx.lapsed_leases(now, 100)])
        released = 0
        for task, d in lapsed:
            if d is None:
                continue
            change, _ = plan_release(task, d, "gateway", "lease_expired", now)
            try:
                await self.store.apply(change)
            except Stale:
                continue  # claimed again or submitted meanwhile: nothing to release
            released += 1
        return released

    async def _own_live_task(self, principal: Principal, task_id: str, now: datetime) -> tuple[Task, Decision]:
        if not task_id:
            raise InvalidRequest("task_id", "must not be empty")

        def read(tx: ReadTx) -> tuple[Task | None, Decision | None]:
            t = tx.task(task_id)
            return t, (None if t is None else tx.decision(t.decision_id))

        task, d = await self._read(read)
        if task is None or d is None:
            raise NotFound(f"no task {task_id!r}")
        if task.state is TaskState.DONE:
            raise PreconditionFailed(f"task {task_id} was already submitted")
        if task.state is not TaskState.CLAIMED or task.claimed_by != principal.name:
            raise PreconditionFailed(f"task {task_id} is not claimed by {principal.name}")
        if task.lease_expires_at is None or task.lease_expires_at <= now:
            raise PreconditionFailed(f"the lease on task {task_id} has expired; claim it again")
        return task, d

    async def reopen_decision(self, principal: Principal, decision_id: str, reason: str) -> Task:
        """Open an automatic decision for human review (``review/reopen.py``): its audit task."""
        if not decision_id:
            raise InvalidRequest("decision_id", "must not be empty")
        d, tasks = await self._read(lambda tx: (tx.decision(decision_id), tx.tasks_for_decision(decision_id)))
        if d is None:
            raise NotFound(f"no decision {decision_id!r}")
        if not reason.strip():  # before sealing: the envelope of a blank reason is not blank
            raise InvalidRequest("reason", "must say why the decision is reopened")
        policy = self.policies.get(d.decision_type)
        sealed, keys = seal_reason(self.personal, policy, d.subject_ref, reason)  # free text can name a person
        change, task = plan_reopen(principal, d, tasks, policy, sealed, self.clock.now(), self.ids.new)
        await self.store.apply(dataclasses.replace(change, inserts=change.inserts + keys))
        return task

    async def record_initial_outcome(self, principal: Principal, task_id: str, outcome: str) -> tuple[Task, Decision]:
        """On a blind-first task the holder records an outcome first; the proposal is then shown."""
        now = self.clock.now()
        task, d = await self._own_live_task(principal, task_id, now)
        change, revealed = plan_initial(principal, task, d, outcome, self.policies.get(d.decision_type), now)
        await self.store.apply(change)
        return revealed, await opened(self.personal, d)

    async def contest_decision(self, principal: Principal, decision_id: str, statement: str) -> tuple[Task, Decision]:
        """File a contest of a final decision for its data subject (``review/contest.py``)."""
        if not decision_id:
            raise InvalidRequest("decision_id", "must not be empty")
        d, tasks = await self._read(lambda tx: (tx.decision(decision_id), tx.tasks_for_decision(decision_id)))
        if d is None:
            raise NotFound(f"no decision {decision_id!r}")
        self._check_may_see(principal, d, tasks)
        policy = self.policies.get(d.decision_type)
        check_statement(statement)  # before sealing: the envelope's length is not the statement's
        sealed, keys = seal_reason(self.personal, policy, d.subject_ref, statement, "statement")
        change, task, filed = plan_contest(principal, d, tasks, policy, sealed, self.clock.now(), self.ids.new)
        await self.store.apply(dataclasses.replace(change, inserts=change.inserts + keys))
        return task, await opened(self.personal, filed)

    # -- submit ---------------------------------------------------------------------------

    async def submit(self, principal: Principal, cmd: SubmitCommand) -> tuple[Decision, Task]:
        """Sign off a claimed task once: approve, edit, override or reject, with a reason."""
        d, done, _ = await self.submit_with_receipt(principal, cmd)
        return d, done

    async def submit_with_receipt(
        self, principal: Principal, cmd: SubmitCommand
    ) -> tuple[Decision, Task, Receipt | None]:
        """``submit``, and the receipt of the sign-off's last event."""
        if cmd.action is None:
            raise InvalidRequest("action", "must be APPROVE, EDIT, OVERRIDE or REJECT")
        if cmd.action in _NEEDS_REASON and not cmd.reason.strip():
            raise InvalidRequest("reason", f"{cmd.action.value} needs a reason")
        now = self.clock.now()
        task, d = await self._own_live_task(principal, cmd.task_id, now)
        policy = self.policies.get(d.decision_type)
        blind: dict[str, Any] = {}
        if task.blind:  # checked, and recast, before the reason is sealed
            cmd, blind = blind_submit(cmd, task, d, policy)
        blind = {**blind, **(await gold_marks(self._read, d))}  # a gold case's known answer
        reason, keys = seal_reason(self.personal, policy, d.subject_ref, cmd.reason)
        change, d, done = self.plan_submit(principal, dataclasses.replace(cmd, reason=reason), task, d, now, blind)
        change = dataclasses.replace(change, inserts=change.inserts + keys)
        try:
            applied = await self.store.apply(change)
        except Stale:
            # Another submit (a second tab, a lapsed lease reclaimed) got there first: say
            # what the task is now if that is clearer than "changed meanwhile".
            await self._own_live_task(principal, cmd.task_id, self.clock.now())
            raise
        return await opened(self.personal, d), done, (applied.receipts[-1] if applied.receipts else None)

    def plan_submit(
        self,
        principal: Principal,
        cmd: SubmitCommand,
        task: Task,
        d: Decision,
        now: datetime,
        blind: Mapping[str, Any] | None = None,
    ) -> tuple[Change, Decision, Task]:
        """The Change signing off ``task`` (read as the principal's, under a live lease);
        ``blind``: what a blind-first task (``blind.blind_submit``) or a gold case (``gold.gold_marks``)
        adds to the sign-off's event."""
        assert cmd.action is not None
        if d.requested_by == principal.name:
            raise PermissionDenied("the principal that requested a decision may not review it")
        if task.kind is TaskKind.CONTEST:
            return plan_contest_submit(principal, cmd, task, d, now, self.policies.get(d.decision_type))
        outcome = signed_outcome(d, cmd, self.policies.get(d.decision_type))
        done = dataclasses.replace(task, state=TaskState.DONE)
        updates = [Update(done, task_guard(task), f"task {task.task_id} was submitted or reclaimed meanwhile")]
        took = (now - d.created_at).total_seconds()
        events = [
            event(
                d,
                "review_submitted",
                principal.name,
                {
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
                    # Active time on task, when the reviewer's page measured it (the web console does).
                    **({"active_seconds": cmd.active_seconds} if cmd.active_seconds is not None else {}),
                    **(blind or {}),
                },
                now,
            )
        ]
        policy = self.policies.get(d.decision_type)
        quorum = quorum_for(policy, d, task)
        if quorum.reviewers > 1 and policy is not None:  # four-eyes: this sign-off is one vote
            return plan_vote(principal, cmd, task, d, outcome, quorum, events[0], now, policy, self.ids.new)
        if task.kind is TaskKind.AUDIT:
            if cmd.action is not Action.APPROVE:
                d = correct(d, cmd, outcome, principal, now, updates, events)
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
            updates.append(Update(d, {"status": Status.IN_REVIEW}, f"decision {d.decision_id} changed meanwhile"))
            events.append(event(d, "decision_finalized", principal.name, final_body(d, by="human"), now))
        return Change(updates=tuple(updates), events=tuple(events)), d, done
