"""``signoff demo``: replay the seed's insurance claims day against a running gateway, end to end.

A calling service sends every claim through Decide; simulated adjusters (alice on ``junior``,
bob on ``senior`` and ``audit``) claim and sign off until the queues are empty, approving right
proposals and overriding wrong ones; then the auditor's view (OverrideStats and VerifyChain)
shows what the log recorded. Then an engagement drill (``demo_reviewers``) shares more review-band
claims between alice and a rubber-stamper, and ReviewerStats flags the stamper. The claims and the
model come from ``gateway.demo``.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TextIO, TypeVar

import grpc
from google.protobuf import duration_pb2, timestamp_pb2

from gateway import demo
from gateway.cli import CommandError
from gateway.cli.client import add_connection_flags, call, channel, metadata
from gateway.cli.demo_depth import contest_drill, sla_drill
from gateway.cli.demo_reviewers import drill
from signoff.v1 import audit_pb2, audit_pb2_grpc, decision_pb2, decision_pb2_grpc, review_pb2, review_pb2_grpc

__all__ = ["register", "run"]

T = TypeVar("T")
R = TypeVar("R")
Metadata = tuple[tuple[str, str], ...]

DECISION_TYPE = "claims.payout"
ROUTES = ("auto", "junior", "senior")
#: The default day is a typical one: its 2,000 claims land within half a point of the seed's
#: 78 / 15 / 7 and 23%. Other seeds scatter by a few points, as real days would.
DEFAULT_SEED = 244
#: Long enough that a task the demo holds (one it knows nothing about) stays held to the end.
LEASE = duration_pb2.Duration(seconds=15 * 60)


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the command tree."""
    p = sub.add_parser(
        "demo",
        help="replay the seed's claims day against a running gateway",
        description="Send synthetic insurance claims with a calibrated model through a running "
        "gateway, let simulated adjusters work the queues, and print the route split, "
        "the override statistics and the audit chain head. Needs the claims-triage "
        "policy and the development principals (or tokens with the same roles).",
    )
    p.add_argument("--claims", type=_count(1), default=2000, help="how many claims (default 2000)")
    p.add_argument(
        "--seed",
        type=_count(0),
        default=DEFAULT_SEED,
        help=f"seed of the synthetic day (default {DEFAULT_SEED}, a typical day)",
    )
    p.add_argument("--concurrency", type=_count(1), default=8, help="requests in flight at once (default 8)")
    add_connection_flags(p, token_env="SIGNOFF_DEMO_CALLER_TOKEN")
    p.set_defaults(token=os.environ.get("SIGNOFF_DEMO_CALLER_TOKEN", "dev-caller-token"))
    p.add_argument("--junior-token", default="dev-alice-token", help="reviewer of 'junior' (default alice)")
    p.add_argument("--senior-token", default="dev-bob-token", help="reviewer of 'senior' and 'audit' (default bob)")
    p.add_argument("--auditor-token", default="dev-carol-token", help="auditor for the statistics (default carol)")
    p.add_argument(
        "--stamper-token",
        default="dev-erin-token",
        help="a rubber-stamping reviewer of 'junior' for the engagement drill (default erin)",
    )
    p.add_argument(
        "--drill-claims",
        type=_count(0),
        default=60,
        help="review-band claims shared by alice (careful) and the rubber-stamper (default 60; 0: none)",
    )
    p.add_argument(
        "--model",
        action="store_true",
        help="proposals from a served model: start a gateway of our own whose claims policy calls the "
        "demo's claims model (a model binding, in process) and send inputs only",
    )
    p.add_argument("--model-dir", default="var/demo-model", help="where --model keeps its gateway's files")
    p.add_argument(
        "--sla-seconds",
        type=_count(0),
        default=3,
        help="the SLA drill: on a gateway of its own, the junior SLA cut from 4h to this many seconds "
        "(default 3; 0: no SLA drill)",
    )
    p.add_argument("--sla-dir", default="var/demo-sla", help="where the SLA drill keeps its gateway's files")
    p.add_argument(
        "--policies", default="policies", help="the policies --model and the SLA drill serve (default policies/)"
    )
    p.add_argument(
        "--principals", default="config/dev-principals.yaml", help="the principals --model and the SLA drill serve"
    )
    p.set_defaults(handler=run)


def _bearer(token: str) -> Metadata:
    return (("authorization", f"Bearer {token}"),)


def _pool_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """fn over items in a thread pool, results in order; the first failure cancels the rest and is raised."""
    results: list[R] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in items]
        try:
            results = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return results


# -- the calling service -----------------------------------------------------------------


def _decide_request(run_id: str, claim: demo.Claim, proposal: bool = True) -> decision_pb2.DecideRequest:
    """The calling service's Decide; without ``proposal`` (``--model``) the gateway asks the model."""
    req = decision_pb2.DecideRequest(
        request_id=demo.request_id(run_id, claim), decision_type=DECISION_TYPE, subject_ref=claim.subject_ref
    )
    if proposal:
        req.proposal.CopyFrom(
            decision_pb2.Proposal(
                outcome=claim.proposal,
                confidence=claim.confidence,
                scores=dict(claim.scores),
                model=demo.MODEL,
                model_version=demo.MODEL_VERSION,
                explanation=claim.explanation(),
            )
        )
    req.input.update(claim.input())
    return req


# -- the adjusters -----------------------------------------------------------------------


@dataclass(slots=True)
class _Reviews:
    """What the simulated adjusters did, shared by their threads under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (queue, action), this run's claims
    leftovers: int = 0  # tasks of earlier demo runs, rebuilt from their request id and signed off
    held: list[tuple[Metadata, str]] = field(default_factory=list)  # tasks the demo cannot judge


def _claim_for(d: decision_pb2.Decision, known: dict[str, demo.Claim]) -> tuple[demo.Claim | None, bool]:
    """The claim behind a decision, and whether it is from this run; None when not a demo claim."""
    if d.decision_id in known:
        return known[d.decision_id], True
    parsed = demo.parse_request_id(d.request_id)
    if parsed is None:
        return None, False
    claim = demo.claim_at(*parsed)
    same = claim.proposal == d.proposal.outcome and abs(claim.confidence - d.proposal.confidence) < 1e-9
    return (claim if same else None), False


def _work_queue(
    stub: review_pb2_grpc.ReviewServiceStub,
    queue: str,
    md: Metadata,
    known: dict[str, demo.Claim],
    out: _Reviews,
    timeout: float,
) -> None:
    """Claim and sign off until ClaimNext finds the queue empty."""
    while True:
        got = call(
            lambda: stub.ClaimNext(review_pb2.ClaimNextRequest(queue=queue, lease=LEASE), metadata=md, timeout=timeout)
        )
        if not got.HasField("task"):
            return
        claim, ours = _claim_for(got.decision, known)
        if claim is None:
            with out.lock:  # hold it so ClaimNext moves past it; released at the end
                out.held.append((md, got.task.task_id))
            continue
        verdict = demo.review(claim)
        req = review_pb2.SubmitRequest(
            task_id=got.task.task_id,
            action=decision_pb2.ReviewAction.Value(f"REVIEW_ACTION_{verdict.action}"),
            outcome=verdict.outcome if verdict.action != "APPROVE" else "",
            reason=verdict.reason,
        )
        call(lambda: stub.Submit(req, metadata=md, timeout=timeout))
        with out.lock:
            if ours:
                out.actions[queue, verdict.action] += 1
            else:
                out.leftovers += 1


# -- the report --------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def _print_split(decisions: Sequence[tuple[demo.Claim, decision_pb2.Decision]], out: TextIO) -> None:
    routes = Counter(d.route for _, d in decisions)
    n = len(decisions)
    out.write("route split (as the gateway decided)              seed: 78 / 15 / 7\n")
    for route in (*ROUTES, *sorted(set(routes) - set(ROUTES))):
        out.write(f"  {route:<8} {routes[route]:>6}  {_pct(routes[route], n)}\n")
    agree = sum(d.route == demo.expected_route(c) for c, d in decisions)
    sampled = sum(d.sampled for _, d in decisions)
    out.write(f"  routes matching the policy thresholds: {agree}/{n}\n")
    out.write(
        f"audit samples drawn from automatic decisions: {sampled} of {routes['auto']} "
        f"({_pct(sampled, routes['auto']).strip()})\n"
    )


def _print_reviews(reviews: _Reviews, seconds: float, out: TextIO) -> None:
    a = reviews.actions
    held = sum(a[q, act] for q in ("junior", "senior") for act in ("APPROVE", "OVERRIDE"))
    over = a["junior", "OVERRIDE"] + a["senior", "OVERRIDE"]
    audited = a["audit", "APPROVE"] + a["audit", "OVERRIDE"]
    out.write(
        f"\nreviews: {sum(a.values())} signed off in {seconds:.1f} s (alice on junior, bob on senior and audit)\n"
    )
    out.write(f"  override rate among reviewed cases: {over}/{held} = {_pct(over, held).strip()}    seed: 23%\n")
    out.write(f"  audit samples corrected after the fact: {a['audit', 'OVERRIDE']}/{audited}\n")
    if reviews.leftovers:
        out.write(f"  also signed off {reviews.leftovers} task(s) left by earlier demo runs\n")
    if reviews.held:
        out.write(f"  left {len(reviews.held)} non-demo task(s) untouched for a person\n")


def _print_stats(resp: audit_pb2.OverrideStatsResponse, since: datetime, out: TextIO) -> None:
    out.write(
        f"\noverride statistics from the audit log (OverrideStats by queue, since "
        f"{since.isoformat(timespec='seconds')})\n"
    )
    out.write(
        f"  {'queue':<8} {'reviewed':>8} {'approved':>8} {'edited':>6} {'overridden':>10} "
        f"{'rejected':>8} {'override':>8} {'median s':>8}\n"
    )
    for g in resp.groups:
        out.write(
            f"  {g.key.get('queue', '-'):<8} {g.reviewed:>8} {g.approved:>8} {g.edited:>6} "
            f"{g.overridden:>10} {g.rejected:>8} {100 * g.override_rate:>7.1f}% "
            f"{g.median_time_to_decision_seconds:>8.1f}\n"
        )


def _print_chain(v: audit_pb2.VerifyChainResponse, out: TextIO) -> None:
    if v.ok:
        out.write(f"\naudit chain: ok, {v.count} events, head seq {v.head_seq}\n")
        out.write(f"  head hash {v.head_hash}\n")
    else:
        out.write(
            f"\naudit chain: BROKEN at seq {v.first_bad_seq} ({v.problem}); {v.count} events, head seq {v.head_seq}\n"
        )


# -- the command -------------------------------------------------------------------------


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Replay the day; exit 0 when everything went through and the chain verifies."""
    out = out or sys.stdout
    if not getattr(args, "model", False):
        return _run(args, out)
    from pathlib import Path

    from gateway.cli.demo_model import model_gateway

    with model_gateway(Path(args.policies), Path(args.principals), Path(args.model_dir)) as (address, db):
        out.write(f"signoff demo --model: a gateway whose claims policy asks the served model, on {address}\n")
        args.address, args.tls_ca = address, None
        code = _run(args, out)
    out.write(f"\nits database: {db} (try: signoff report --db sqlite:///{db} --from 2026-01-01 --to 2100-01-01)\n")
    return code


def _run(args: argparse.Namespace, out: TextIO) -> int:
    model = bool(getattr(args, "model", False))
    caller = metadata(args)
    run_id = uuid.uuid4().hex[:8]
    claims = [demo.served(c) if model else c for c in demo.generate(args.claims, args.seed)]
    since = datetime.now(UTC).replace(microsecond=0)
    out.write(f"signoff demo: {len(claims)} claims (seed {args.seed}, run {run_id}) against {args.address}\n")
    with channel(args) as ch:
        decisions_stub = decision_pb2_grpc.DecisionServiceStub(ch)
        review_stub = review_pb2_grpc.ReviewServiceStub(ch)
        audit_stub = audit_pb2_grpc.AuditServiceStub(ch)

        def decide(claim: demo.Claim) -> tuple[demo.Claim, decision_pb2.Decision]:
            req = _decide_request(run_id, claim, proposal=not model)
            return claim, call(lambda: decisions_stub.Decide(req, metadata=caller, timeout=args.timeout)).decision

        started = time.monotonic()
        decisions = [decide(claims[0])]  # fail fast, with one line, when the gateway is not there
        decisions += _pool_map(decide, claims[1:], args.concurrency)
        took = time.monotonic() - started
        out.write(
            f"decided {len(decisions)} claims in {took:.1f} s ({len(decisions) / max(took, 1e-6):.0f}/s), "
            f"{args.concurrency} at a time\n\n"
        )
        _print_split(decisions, out)
        out.flush()

        known = {d.decision_id: c for c, d in decisions}
        reviews = _Reviews()
        workers = max(1, args.concurrency // 3)
        lanes = [("junior", _bearer(args.junior_token))] * workers
        lanes += [("senior", _bearer(args.senior_token))] * workers + [("audit", _bearer(args.senior_token))]
        started = time.monotonic()
        try:
            _pool_map(
                lambda lane: _work_queue(review_stub, lane[0], lane[1], known, reviews, args.timeout), lanes, len(lanes)
            )
        finally:
            for md, task_id in reviews.held:
                try:
                    review_stub.Release(
                        review_pb2.ReleaseRequest(task_id=task_id, reason="signoff demo: not a demo claim"),
                        metadata=md,
                        timeout=args.timeout,
                    )
                except grpc.RpcError:
                    pass  # the lease lapses on its own
        _print_reviews(reviews, time.monotonic() - started, out)

        auditor = _bearer(args.auditor_token)
        stats_req = audit_pb2.OverrideStatsRequest(group_by=["queue"], decision_type=DECISION_TYPE)
        stats_req.since.CopyFrom(timestamp_pb2.Timestamp(seconds=int(since.timestamp())))
        stats = call(lambda: audit_stub.OverrideStats(stats_req, metadata=auditor, timeout=args.timeout))
        _print_stats(stats, since, out)
        if args.drill_claims:
            stubs = SimpleNamespace(decisions=decisions_stub, review=review_stub, audit=audit_stub)
            mds = {
                "caller": caller,
                "careful": _bearer(args.junior_token),
                "stamper": _bearer(args.stamper_token),
                "auditor": auditor,
            }
            stamped: list[tuple[demo.Claim, str]] = []
            drill(
                stubs,
                lambda c: _decide_request(run_id, c, proposal=not model),
                mds,
                args.drill_claims,
                args.seed + 1,
                since,
                args.timeout,
                out,
                adapt=demo.served if model else None,
                stamped=stamped,
            )
            contest_drill(stubs, stamped, {"caller": caller, "hearer": _bearer(args.senior_token)}, args.timeout, out)
        chain = call(
            lambda: audit_stub.VerifyChain(
                audit_pb2.VerifyChainRequest(), metadata=auditor, timeout=max(args.timeout, 120.0)
            )
        )
        _print_chain(chain, out)
    if args.sla_seconds:
        from pathlib import Path

        sla_drill(
            Path(args.policies),
            Path(args.principals),
            Path(args.sla_dir),
            caller,
            args.seed + 2,
            args.timeout,
            out,
            due_seconds=args.sla_seconds,
        )
    out.flush()
    if not chain.ok:
        raise CommandError(f"the audit chain does not verify: first bad seq {chain.first_bad_seq}", code=1)
    return 0
