"""The demo's review-depth drills: a contest, and an SLA timeout.

``contest_drill``: the claims service contests, for the claimant, one adverse claim that the
rubber-stamper signed off in the engagement drill (GDPR Art. 22(3)); a senior adjuster who did
not decide it hears it in the contest queue and reverses it when the file says so (upholds it
otherwise). The decision's contest history and correction show it, and the report's "Contests"
section counts it.

``sla_drill``: an SLA timeout cannot happen within a demo on the shipped policy (the junior
queue's SLA is 4 hours), so the demo starts a gateway of its own (``demo_model.sla_gateway``:
the same policy with the junior SLA cut to seconds, its own SQLite file). One review-band claim
is held there and nobody claims it; at its due time the gateway's timer escalates it to the
senior queue, and WatchDecision shows the move.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import grpc

from gateway import demo
from gateway.cli import CommandError
from gateway.cli.client import call
from gateway.cli.demo_reviewers import junior_claims
from signoff.v1 import decision_pb2, decision_pb2_grpc, review_pb2

__all__ = ["contest_drill", "sla_drill"]

Metadata = tuple[tuple[str, str], ...]
ADVERSE = ("deny", "partial")


def _pick(stamped: Sequence[tuple[demo.Claim, str]]) -> tuple[demo.Claim, str] | None:
    """A rubber-stamped adverse decision to contest: a wrong one if there is one."""
    adverse = [(c, d) for c, d in stamped if c.proposal in ADVERSE]
    return next(((c, d) for c, d in adverse if not c.correct), adverse[0] if adverse else None)


def contest_drill(
    stubs: Any,
    stamped: Sequence[tuple[demo.Claim, str]],
    mds: dict[str, Metadata],
    timeout: float,
    out: TextIO,
) -> decision_pb2.Decision | None:
    """File and hear one contest; the decision afterwards (None when nothing was contested).

    ``mds`` holds ``caller`` (files it) and ``hearer`` (a reviewer of the contest queue who did
    not decide the original).
    """
    pick = _pick(stamped)
    if pick is None:
        out.write("\ncontest: the rubber-stamper signed off no adverse decision in the drill; nothing to contest\n")
        return None
    claim, decision_id = pick
    statement = f"the claimant disputes the {claim.proposal}: the attached file supports {claim.truth}"
    req = decision_pb2.ContestDecisionRequest(decision_id=decision_id, statement=statement)
    try:
        filed = stubs.decisions.ContestDecision(req, metadata=mds["caller"], timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() is grpc.StatusCode.FAILED_PRECONDITION:  # an older policy without a contest section
            out.write(f"\ncontest: not filed: {exc.details()}\n")
            return None
        raise CommandError(f"{exc.code().name}: {exc.details()}", code=1) from None
    queue = filed.decision.contests[-1].queue
    held: list[str] = []
    heard = None
    try:
        for _ in range(100):  # the queue may hold audit samples ahead of the contest
            got = call(
                lambda: stubs.review.ClaimNext(
                    review_pb2.ClaimNextRequest(queue=queue), metadata=mds["hearer"], timeout=timeout
                )
            )
            if not got.HasField("task"):
                break
            if got.task.task_id != filed.task_id:
                held.append(got.task.task_id)  # kept claimed so the next claim moves past it
                continue
            reverse = not claim.correct
            submit = review_pb2.SubmitRequest(
                task_id=filed.task_id,
                action=decision_pb2.REVIEW_ACTION_OVERRIDE if reverse else decision_pb2.REVIEW_ACTION_APPROVE,
                outcome=claim.truth if reverse else "",
                reason=f"the file shows {claim.truth}" if reverse else f"the file confirms {claim.proposal}",
            )
            heard = call(lambda: stubs.review.Submit(submit, metadata=mds["hearer"], timeout=timeout)).decision
            break
    finally:
        for task_id in held:
            try:
                stubs.review.Release(
                    review_pb2.ReleaseRequest(task_id=task_id, reason="signoff demo: after the contest"),
                    metadata=mds["hearer"],
                    timeout=timeout,
                )
            except grpc.RpcError:
                pass  # the lease lapses on its own
    out.write(f"\ncontest (GDPR Art. 22(3)): the claims service contested decision {decision_id} for the claimant\n")
    out.write(f"  the rubber-stamper had let the model's '{claim.proposal}' stand; the file says '{claim.truth}'\n")
    if heard is None:
        out.write(f"  the contest waits in '{queue}' for a reviewer who did not decide the original\n")
        return None
    c = heard.contests[-1]
    state = decision_pb2.ContestState.Name(c.state).removeprefix("CONTEST_STATE_").lower()
    out.write(f"  heard in '{queue}' by {c.decided_by}: {state}, outcome '{c.outcome}' ({c.reason})\n")
    if heard.HasField("correction"):
        out.write(
            f"  the decision keeps '{heard.final_outcome}' as first decided and carries the correction "
            f"'{heard.correction.outcome}' by {heard.correction.reviewer}\n"
        )
    return heard


def sla_drill(
    policies: Path,
    principals: Path,
    workdir: Path,
    caller: Metadata,
    seed: int,
    timeout: float,
    out: TextIO,
    due_seconds: int = 3,
) -> decision_pb2.Decision | None:
    """Hold one review-band claim on a gateway whose junior SLA is ``due_seconds``; watch its
    timeout escalate it. The decision once escalated (None if that did not happen in time)."""
    from gateway.cli.demo_model import sla_gateway

    claim = junior_claims(1, seed)[0]
    with sla_gateway(policies, principals, workdir, due_seconds) as (address, db):
        with grpc.insecure_channel(address) as ch:
            stub = decision_pb2_grpc.DecisionServiceStub(ch)
            req = decision_pb2.DecideRequest(
                request_id=f"demo-sla-{claim.index}", decision_type="claims.payout", subject_ref=claim.subject_ref
            )
            req.proposal.CopyFrom(decision_pb2.Proposal(outcome=claim.proposal, confidence=claim.confidence))
            req.input.update(claim.input())
            held = call(lambda: stub.Decide(req, metadata=caller, timeout=timeout)).decision
            started = time.monotonic()
            moved, took = None, 0.0
            watch = decision_pb2.WatchDecisionRequest(decision_id=held.decision_id)
            try:
                for update in stub.WatchDecision(watch, metadata=caller, timeout=due_seconds + 30):
                    if update.decision.route != held.route:
                        moved, took = update.decision, time.monotonic() - started
                        break
            except grpc.RpcError as exc:
                if exc.code() is not grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise CommandError(f"{exc.code().name}: {exc.details()}", code=1) from None
    out.write(
        f"\nSLA timeout (a gateway of the demo's own, {db}: the shipped claims policy with the junior SLA "
        f"cut from 4h to {due_seconds}s)\n"
    )
    out.write(f"  claim {held.decision_id} held in '{held.route}'; nobody claimed it\n")
    if moved is None:
        out.write(f"  it was not escalated within {due_seconds + 30} s\n")
        return None
    out.write(
        f"  after {took:.1f} s the timer escalated it to '{moved.route}' "
        f"(status {decision_pb2.DecisionStatus.Name(moved.status).removeprefix('DECISION_STATUS_')}); "
        "WatchDecision told the caller\n"
    )
    return moved
