"""``signoff review``: work a queue from a terminal: list, claim, show, submit, release, renew."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TextIO

from google.protobuf import duration_pb2

from gateway.cli import CommandError
from gateway.cli.client import add_connection_flags, call, channel, metadata, parse_json_arg, to_json
from gateway.cli.render import print_decision, print_task
from signoff.v1 import decision_pb2, decision_pb2_grpc, review_pb2, review_pb2_grpc

__all__ = ["register"]

_ACTIONS = {
    "approve": decision_pb2.REVIEW_ACTION_APPROVE,
    "edit": decision_pb2.REVIEW_ACTION_EDIT,
    "override": decision_pb2.REVIEW_ACTION_OVERRIDE,
    "reject": decision_pb2.REVIEW_ACTION_REJECT,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``review`` and its subcommands to the command tree."""
    p = sub.add_parser("review", help="work a review queue", description="Work a review queue.")
    rs = p.add_subparsers(dest="review_command", metavar="ACTION", parser_class=type(p))
    rs.required = True

    ls = rs.add_parser("list", help="list a queue's tasks, oldest first")
    ls.add_argument("queue")
    ls.add_argument("--limit", type=int, default=100)
    ls.set_defaults(handler=_list)

    cl = rs.add_parser("claim", help="claim the oldest task of a queue and show its case")
    cl.add_argument("queue")
    cl.add_argument("--lease", type=float, default=0, help="lease in seconds (default: the gateway's, 5 minutes)")
    cl.set_defaults(handler=_claim)

    sh = rs.add_parser("show", help="show a decision's case, proposal, explanation and reasons")
    sh.add_argument("decision_id")
    sh.set_defaults(handler=_show)

    sm = rs.add_parser("submit", help="sign off a claimed task")
    sm.add_argument("task_id")
    sm.add_argument("--action", required=True, choices=sorted(_ACTIONS))
    sm.add_argument("--outcome", default="", help="the new outcome (edit, override)")
    sm.add_argument("--payload", default=None, help="an edited payload as JSON, or @FILE (edit)")
    sm.add_argument("--reason", default="", help="why (required for edit, override and reject)")
    sm.set_defaults(handler=_submit)

    rl = rs.add_parser("release", help="hand a claimed task back to its queue")
    rl.add_argument("task_id")
    rl.add_argument("--reason", default="")
    rl.set_defaults(handler=_release)

    rn = rs.add_parser("renew", help="extend your live lease on a claimed task (a heartbeat)")
    rn.add_argument("task_id")
    rn.add_argument("--lease", type=float, default=0, help="new lease from now, in seconds (default 5 minutes)")
    rn.set_defaults(handler=_renew)

    ro = rs.add_parser(
        "reopen", help="open an automatic decision for human review (a role the policy's 'reopen' names)"
    )
    ro.add_argument("decision_id")
    ro.add_argument("--reason", required=True, help="why it is reopened (recorded in the log)")
    ro.set_defaults(handler=_reopen)

    io = rs.add_parser("initial", help="on a blind-first task: record your own outcome, then see the model's proposal")
    io.add_argument("task_id")
    io.add_argument("--outcome", required=True, help="one of the policy's outcomes")
    io.set_defaults(handler=_initial)

    for q in (ls, cl, sh, sm, rl, rn, ro, io):
        q.add_argument("--json", action="store_true", help="print JSON")
        add_connection_flags(q)


def _list(args: argparse.Namespace) -> int:
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(
            lambda: stub.ListTasks(
                review_pb2.ListTasksRequest(queue=args.queue, page_size=args.limit),
                metadata=metadata(args),
                timeout=args.timeout,
            )
        )
    if args.json:
        for t in resp.tasks:
            print(to_json(t))
    else:
        for t in resp.tasks:
            print_task(t, sys.stdout)
        print(f"{len(resp.tasks)} task(s) in {args.queue}")
    return 0


def _claim(args: argparse.Namespace) -> int:
    req = review_pb2.ClaimNextRequest(queue=args.queue)
    _set_lease(req, args)
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(lambda: stub.ClaimNext(req, metadata=metadata(args), timeout=args.timeout))
    if not resp.HasField("task"):
        print(f"queue {args.queue} is empty", file=sys.stderr)
        return 3
    if args.json:
        print(to_json(resp))
        return 0
    print(f"task       {resp.task.task_id}  (lease until {resp.task.lease_expires_at.ToDatetime().isoformat()}Z)")
    print_decision(resp.decision, sys.stdout)
    return 0


def _show(args: argparse.Namespace) -> int:
    with channel(args) as ch:
        stub = decision_pb2_grpc.DecisionServiceStub(ch)
        resp = call(
            lambda: stub.GetDecision(
                decision_pb2.GetDecisionRequest(decision_id=args.decision_id),
                metadata=metadata(args),
                timeout=args.timeout,
            )
        )
    return _print(args, resp.decision, print_decision)


def _submit(args: argparse.Namespace) -> int:
    req = review_pb2.SubmitRequest(
        task_id=args.task_id, action=_ACTIONS[args.action], outcome=args.outcome, reason=args.reason
    )
    if args.payload is not None:
        payload = parse_json_arg(args.payload, "--payload")
        if not isinstance(payload, dict):
            raise CommandError("--payload: must be a JSON object", code=2)
        req.payload.update(payload)
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(lambda: stub.Submit(req, metadata=metadata(args), timeout=args.timeout))
    return _print(args, resp.decision, print_decision)


def _release(args: argparse.Namespace) -> int:
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(
            lambda: stub.Release(
                review_pb2.ReleaseRequest(task_id=args.task_id, reason=args.reason),
                metadata=metadata(args),
                timeout=args.timeout,
            )
        )
    return _print(args, resp.task, print_task)


def _renew(args: argparse.Namespace) -> int:
    req = review_pb2.RenewLeaseRequest(task_id=args.task_id)
    _set_lease(req, args)
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(lambda: stub.RenewLease(req, metadata=metadata(args), timeout=args.timeout))
    return _print(args, resp.task, print_task)


def _reopen(args: argparse.Namespace) -> int:
    req = review_pb2.ReopenDecisionRequest(decision_id=args.decision_id, reason=args.reason)
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(lambda: stub.ReopenDecision(req, metadata=metadata(args), timeout=args.timeout))
    return _print(args, resp.task, print_task)


def _initial(args: argparse.Namespace) -> int:
    req = review_pb2.RecordInitialOutcomeRequest(task_id=args.task_id, outcome=args.outcome)
    with channel(args) as ch:
        stub = review_pb2_grpc.ReviewServiceStub(ch)
        resp = call(lambda: stub.RecordInitialOutcome(req, metadata=metadata(args), timeout=args.timeout))
    if args.json:
        print(to_json(resp))
    else:
        print_task(resp.task, sys.stdout)
        print_decision(resp.decision, sys.stdout)
    return 0


def _set_lease(req: Any, args: argparse.Namespace) -> None:
    """Put ``--lease`` (seconds) on ``req`` when it was given; a negative one is refused."""
    if args.lease:
        if args.lease < 0:
            raise CommandError("--lease: must be positive", code=2)
        req.lease.CopyFrom(duration_pb2.Duration(seconds=int(args.lease), nanos=int(args.lease % 1 * 1e9)))


def _print(args: argparse.Namespace, message: Any, printer: Callable[[Any, TextIO], None]) -> int:
    """Print ``message`` as JSON with ``--json``, else as text; the verb's exit status (0)."""
    if args.json:
        print(to_json(message))
    else:
        printer(message, sys.stdout)
    return 0
