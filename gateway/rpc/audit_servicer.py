"""The auditor's servicer: query decisions and events, explain one decision, verify, count (auditors only)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from gateway.errors import InvalidRequest
from gateway.review.access import require_auditor
from gateway.review.model import Principal
from gateway.rpc import convert
from gateway.rpc.calls import ThreadContext, current_principal
from signoff.v1 import audit_pb2, audit_pb2_grpc, decision_pb2

__all__ = ["AuditReader", "AuditServicer"]


class AuditReader(Protocol):
    """What the audit servicer reads: events, decision pages, trails, verification, statistics.

    ``event_page`` and ``decision_page`` take their filters as plain values (``None`` or 0:
    any) and return an object with ``items`` and ``next_page_token``; they raise
    ``InvalidRequest`` for an unknown filter value or a page token of another query.
    """

    def events(self, **filters: Any) -> Iterator[Any]: ...
    def event_page(self, filters: dict[str, Any], size: int = 0, token: str = "") -> Any: ...
    def decision_page(self, filters: dict[str, Any], size: int = 0, token: str = "") -> Any: ...
    def trail(self, decision_id: str) -> dict[str, Any]: ...
    def verify(self) -> Any: ...
    def override_stats(
        self,
        group_by: Sequence[str],
        *,
        decision_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Any]: ...
    def reviewer_stats(
        self,
        *,
        by_queue: bool = False,
        decision_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Any]: ...


def _require_auditor(principal: Principal) -> None:
    require_auditor(principal)  # the one table the console asks too


def _time_range(request: Any) -> dict[str, datetime | None]:
    since = convert.timestamp(request.since, "since") if request.HasField("since") else None
    until = convert.timestamp(request.until, "until") if request.HasField("until") else None
    if since and until and since > until:
        raise InvalidRequest("since", "is after until")
    return {"since": since, "until": until}


def _event(e: Any) -> audit_pb2.AuditEvent:
    return audit_pb2.AuditEvent(
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
    )


def _version(value: int) -> int:
    if value < 0:
        raise InvalidRequest("policy_version", "must not be negative")
    return value


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    """QueryEvents, ListEvents, QueryDecisions, ExplainDecision, VerifyChain, OverrideStats, ReviewerStats."""

    GROUP_KEYS = ("policy_name", "policy_version", "queue", "rule", "reviewer")

    def __init__(self, reader: AuditReader) -> None:
        self.reader = reader

    def QueryEvents(
        self, request: audit_pb2.QueryEventsRequest, context: ThreadContext
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
            yield audit_pb2.QueryEventsResponse(event=_event(e))

    def ListEvents(self, request: audit_pb2.ListEventsRequest, context: ThreadContext) -> audit_pb2.ListEventsResponse:
        _require_auditor(current_principal())
        filters = {
            "decision_id": request.decision_id or None,
            "decision_type": request.decision_type or None,
            "types": tuple(request.types),
            "actor": request.actor or None,
            "policy_name": request.policy_name or None,
            "policy_version": _version(request.policy_version),
            **_time_range(request),
        }
        page = self.reader.event_page(filters, request.page_size, request.page_token)
        return audit_pb2.ListEventsResponse(
            events=[_event(e) for e in page.items], next_page_token=page.next_page_token
        )

    def QueryDecisions(
        self, request: audit_pb2.QueryDecisionsRequest, context: ThreadContext
    ) -> audit_pb2.QueryDecisionsResponse:
        _require_auditor(current_principal())
        filters = {
            "decision_type": request.decision_type or None,
            "policy_name": request.policy_name or None,
            "policy_version": _version(request.policy_version),
            "route": request.route or None,
            "queue": request.queue or None,
            "reviewer": request.reviewer or None,
            "action": request.action or None,
            "overridden": request.overridden if request.HasField("overridden") else None,
            "subject_ref": request.subject_ref or None,
            "status": request.status or None,
            "decision_id": request.decision_id or None,
            **_time_range(request),
        }
        page = self.reader.decision_page(filters, request.page_size, request.page_token)
        return audit_pb2.QueryDecisionsResponse(
            decisions=[convert.decision_to_proto(d) for d in page.items],
            next_page_token=page.next_page_token,
        )

    def ExplainDecision(
        self, request: audit_pb2.ExplainDecisionRequest, context: ThreadContext
    ) -> audit_pb2.ExplainDecisionResponse:
        _require_auditor(current_principal())
        if not request.decision_id:
            raise InvalidRequest("decision_id", "is required")
        trail = self.reader.trail(request.decision_id)
        return audit_pb2.ExplainDecisionResponse(
            trail_json=json.dumps(trail, sort_keys=True, ensure_ascii=False, default=str)
        )

    def VerifyChain(
        self, request: audit_pb2.VerifyChainRequest, context: ThreadContext
    ) -> audit_pb2.VerifyChainResponse:
        _require_auditor(current_principal())
        r = self.reader.verify()
        return audit_pb2.VerifyChainResponse(
            ok=r.ok,
            count=r.count,
            head_seq=r.head_seq or 0,
            head_hash=r.head_hash or "",
            first_bad_seq=r.first_bad_seq or 0,
            problem=r.problem or "",
        )

    def OverrideStats(
        self, request: audit_pb2.OverrideStatsRequest, context: ThreadContext
    ) -> audit_pb2.OverrideStatsResponse:
        _require_auditor(current_principal())
        group_by = list(request.group_by) or ["policy_version", "queue"]
        for key in group_by:
            if key not in self.GROUP_KEYS:
                raise InvalidRequest("group_by", f"{key!r} is not one of: {', '.join(self.GROUP_KEYS)}")
        groups = self.reader.override_stats(
            group_by, decision_type=request.decision_type or None, **_time_range(request)
        )
        return audit_pb2.OverrideStatsResponse(
            groups=[
                audit_pb2.OverrideStatsGroup(
                    key={k: str(v) for k, v in g.key.items()},
                    reviewed=g.reviewed,
                    approved=g.approved,
                    edited=g.edited,
                    overridden=g.overridden,
                    rejected=g.rejected,
                    override_rate=g.override_rate,
                    median_time_to_decision_seconds=g.median_time_to_decision_seconds or 0.0,
                )
                for g in groups
            ]
        )

    def ReviewerStats(
        self, request: audit_pb2.ReviewerStatsRequest, context: ThreadContext
    ) -> audit_pb2.ReviewerStatsResponse:
        _require_auditor(current_principal())
        rows = self.reader.reviewer_stats(
            by_queue=request.by_queue, decision_type=request.decision_type or None, **_time_range(request)
        )
        return audit_pb2.ReviewerStatsResponse(rows=[_reviewer_row(s) for s in rows])


def _opt(value: float | None) -> tuple[bool, float]:
    return (value is not None, 0.0 if value is None else float(value))


def _reviewer_row(s: Any) -> audit_pb2.ReviewerStatsRow:
    """One ``audit.reviewers.ReviewerStats`` as its message (unset rates as has_* false)."""
    r = s.override_ratio
    row = audit_pb2.ReviewerStatsRow(
        reviewer=s.reviewer,
        queue=s.queue,
        reviews=s.reviews,
        blind_reviews=s.blind_reviews,
        gold_reviews=s.gold_reviews,
        gold_traps=s.gold_traps,
        gold_traps_accepted=s.gold_traps_accepted,
        kappa_pairs=s.kappa_pairs,
        flags=list(s.flags),
        override_ratio=audit_pb2.OverrideRatio(
            observed=r.observed,
            expected=r.expected,
            has_ratio=r.ratio is not None,
            ratio=r.ratio or 0.0,
            lower=r.lower or 0.0,
            upper=r.upper or 0.0,
        ),
    )
    for name, value in (
        ("median_seconds", s.median_seconds),
        ("approval_rate", s.approval_rate),
        ("agreement_ordinary", s.agreement_ordinary),
        ("agreement_blind", s.agreement_blind),
        ("gold_accuracy", s.gold_accuracy),
        ("kappa", s.kappa),
    ):
        has, number = _opt(value)
        setattr(row, f"has_{name}", has)
        setattr(row, "median_claim_to_submit_seconds" if name == "median_seconds" else name, number)
    return row
