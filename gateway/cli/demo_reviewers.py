"""The demo's engagement drill: a careful reviewer and a rubber-stamper share review-band claims.

After the day, ``signoff demo`` sends a further batch of review-band claims. Each is claimed at
once, in turn, by the careful adjuster (alice: the proposal stands when right, is overridden with
the file's outcome when wrong) and by a rubber-stamper (erin: approves everything, at machine
speed). Then ``AuditService.ReviewerStats`` shows what the log says about each of them: the
stamper is flagged, the careful reviewer is not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from google.protobuf import timestamp_pb2

from gateway import demo
from gateway.cli.audit_reviewers import print_reviewers
from gateway.cli.client import call
from signoff.v1 import audit_pb2, decision_pb2, review_pb2

__all__ = ["drill", "junior_claims"]

Metadata = tuple[tuple[str, str], ...]


def junior_claims(n: int, seed: int, adapt: Callable[[demo.Claim], demo.Claim] | None = None) -> list[demo.Claim]:
    """The first ``n`` review-band claims of another seeded day (``adapt``: the served model's proposals)."""
    out: list[demo.Claim] = []
    index = 0
    while len(out) < n:
        claim = demo.claim_at(seed, index)
        if adapt is not None:
            claim = adapt(claim)
        if demo.expected_route(claim) == "junior":
            out.append(claim)
        index += 1
    return out


def drill(
    stubs: Any,
    request: Callable[[demo.Claim], decision_pb2.DecideRequest],
    mds: dict[str, Metadata],
    n: int,
    seed: int,
    since: datetime,
    timeout: float,
    out: TextIO,
    adapt: Callable[[demo.Claim], demo.Claim] | None = None,
    stamped: list[tuple[demo.Claim, str]] | None = None,
) -> audit_pb2.ReviewerStatsResponse:
    """Run the drill on ``n`` claims and print the ReviewerStats table since ``since``.

    ``stubs`` has ``decisions``, ``review`` and ``audit``; ``mds`` holds the metadata of
    ``caller``, ``careful``, ``stamper`` and ``auditor``. ``stamped`` gets each claim the
    rubber-stamper signed off, with its decision id.
    """
    signed = {"careful": 0, "stamper": 0}
    for i, claim in enumerate(junior_claims(n, seed, adapt)):
        d = call(lambda: stubs.decisions.Decide(request(claim), metadata=mds["caller"], timeout=timeout)).decision
        who = "stamper" if i % 2 == 0 else "careful"
        got = call(
            lambda: stubs.review.ClaimNext(
                review_pb2.ClaimNextRequest(queue="junior"), metadata=mds[who], timeout=timeout
            )
        )
        if not got.HasField("task"):
            continue
        if got.decision.decision_id != d.decision_id:  # someone else's task: leave it for a person
            call(
                lambda: stubs.review.Release(
                    review_pb2.ReleaseRequest(task_id=got.task.task_id, reason="signoff demo: not a drill claim"),
                    metadata=mds[who],
                    timeout=timeout,
                )
            )
            continue
        verdict = demo.review(claim) if who == "careful" else demo.ReviewerVerdict("APPROVE", claim.proposal, "")
        req = review_pb2.SubmitRequest(
            task_id=got.task.task_id,
            action=decision_pb2.ReviewAction.Value(f"REVIEW_ACTION_{verdict.action}"),
            outcome=verdict.outcome if verdict.action != "APPROVE" else "",
            reason=verdict.reason,
        )
        call(lambda: stubs.review.Submit(req, metadata=mds[who], timeout=timeout))
        signed[who] += 1
        if who == "stamper" and stamped is not None:
            stamped.append((claim, d.decision_id))
    stats_req = audit_pb2.ReviewerStatsRequest(decision_type="claims.payout")
    stats_req.since.CopyFrom(timestamp_pb2.Timestamp(seconds=int(since.timestamp())))
    resp = call(lambda: stubs.audit.ReviewerStats(stats_req, metadata=mds["auditor"], timeout=timeout))
    out.write(
        f"\nreviewer engagement (ReviewerStats since {since.isoformat(timespec='seconds')}; drill: "
        f"{signed['careful']} careful and {signed['stamper']} rubber-stamped sign-offs on review-band "
        f"claims)\n"
    )
    print_reviewers(resp, _Indented(out))
    flagged = sorted({r.reviewer for r in resp.rows if r.flags})
    out.write(f"  flagged as rubber-stampers: {', '.join(flagged) or 'nobody'}\n")
    return resp


class _Indented:
    """Writes each line two spaces in, like the rest of the demo's output."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, text: str) -> None:
        """Write ``text`` indented."""
        self.out.write("  " + text)
