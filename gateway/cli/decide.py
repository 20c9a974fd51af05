"""``signoff decide``: ask the gateway for a decision from JSON, as a calling service would."""

from __future__ import annotations

import argparse
import sys
import uuid

from google.protobuf import duration_pb2

from gateway.cli import CommandError
from gateway.cli.client import add_connection_flags, call, channel, metadata, parse_json_arg, to_json
from gateway.cli.render import print_decision
from signoff.v1 import decision_pb2, decision_pb2_grpc

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``decide``, ``watch`` and ``contest`` to the command tree."""
    p = sub.add_parser(
        "decide", help="ask the gateway for a decision", description="Send one Decide request built from JSON."
    )
    p.add_argument("decision_type", help="e.g. claims.payout")
    p.add_argument("--input", required=True, help="the input features as JSON, or @FILE")
    p.add_argument(
        "--proposal",
        required=True,
        help='the model proposal as JSON, or @FILE: {"outcome": .., "confidence": .., "scores": {..}, '
        '"model": .., "model_version": .., "explanation": ..}',
    )
    p.add_argument("--subject", default="", help="pseudonymous data-subject reference")
    p.add_argument("--request-id", default=None, help="idempotency key (default: a new random one)")
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for a human sign-off")
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    add_connection_flags(p)
    p.set_defaults(handler=run)

    w = sub.add_parser("watch", help="follow a decision until it is final")
    w.add_argument("decision_id")
    w.add_argument("--json", action="store_true", help="print each state as a JSON line")
    add_connection_flags(w)
    w.set_defaults(handler=watch)

    c = sub.add_parser(
        "contest",
        help="contest a final decision for its data subject (GDPR Art. 22(3); the policy's 'contest' section)",
    )
    c.add_argument("decision_id")
    c.add_argument("--statement", required=True, help="what the data subject contests (recorded in the log)")
    c.add_argument("--json", action="store_true", help="print the decision as JSON")
    add_connection_flags(c)
    c.set_defaults(handler=contest)


def contest(args: argparse.Namespace) -> int:
    """File a contest; print the decision with its contest history and the contest's task."""
    req = decision_pb2.ContestDecisionRequest(decision_id=args.decision_id, statement=args.statement)
    with channel(args) as ch:
        stub = decision_pb2_grpc.DecisionServiceStub(ch)
        resp = call(lambda: stub.ContestDecision(req, metadata=metadata(args), timeout=args.timeout))
    if args.json:
        print(to_json(resp))
    else:
        print_decision(resp.decision, sys.stdout)
        print(f"contest task {resp.task_id}")
    return 0


def _proposal(value: object) -> decision_pb2.Proposal:
    if not isinstance(value, dict):
        raise CommandError("--proposal: must be a JSON object", code=2)
    allowed = {"outcome", "confidence", "scores", "model", "model_version", "explanation"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise CommandError(f"--proposal: unknown field {unknown[0]!r}", code=2)
    try:
        return decision_pb2.Proposal(**value)
    except (TypeError, ValueError) as exc:
        raise CommandError(f"--proposal: {exc}", code=2) from None


def run(args: argparse.Namespace) -> int:
    """Send the request and print the decision."""
    inp = parse_json_arg(args.input, "--input")
    if not isinstance(inp, dict):
        raise CommandError("--input: must be a JSON object", code=2)
    req = decision_pb2.DecideRequest(
        request_id=args.request_id or str(uuid.uuid4()),
        decision_type=args.decision_type,
        subject_ref=args.subject,
        proposal=_proposal(parse_json_arg(args.proposal, "--proposal")),
    )
    req.input.update(inp)
    if args.wait > 0:
        req.wait.CopyFrom(duration_pb2.Duration(seconds=int(args.wait), nanos=int(args.wait % 1 * 1e9)))
    with channel(args) as ch:
        stub = decision_pb2_grpc.DecisionServiceStub(ch)
        resp = call(lambda: stub.Decide(req, metadata=metadata(args), timeout=args.timeout + args.wait))
    if args.json:
        print(to_json(resp.decision))
    else:
        print_decision(resp.decision, sys.stdout)
    return 0


def watch(args: argparse.Namespace) -> int:
    """Print each state change of a decision until it is final."""
    with channel(args) as ch:
        stub = decision_pb2_grpc.DecisionServiceStub(ch)
        req = decision_pb2.WatchDecisionRequest(decision_id=args.decision_id)

        def follow() -> None:
            for resp in stub.WatchDecision(req, metadata=metadata(args)):
                if args.json:
                    print(to_json(resp.decision), flush=True)
                else:
                    d = resp.decision
                    status = decision_pb2.DecisionStatus.Name(d.status).removeprefix("DECISION_STATUS_")
                    print(f"{status:<15} outcome={d.final_outcome or '-'} reviewer={d.reviewer or '-'}", flush=True)

        call(follow)
    return 0
