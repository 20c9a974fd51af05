"""One decision's trail: the story its audit events tell, as data and in plain words.

Pure: no I/O. ``build_trail`` reads only the hash-chained events (never the mutable
``decisions`` row), so what it shows is what the log can prove; the caller supplies the
policy text that routed the decision and whether the events' hashes and links verified.
The gRPC ``ExplainDecision`` and ``signoff audit explain`` both build on it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from audit.record import Event, iso_utc

__all__ = ["build_trail", "render_trail"]

_KNOWN = {
    "decision_received",
    "routed",
    "decision_finalized",
    "audit_sampled",
    "review_claimed",
    "review_released",
    "review_submitted",
    "correction",
}


def _final(e: Event, b: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "at": iso_utc(e.time),
        "status": b.get("status", ""),
        "outcome": b.get("final_outcome", ""),
        "payload": b.get("final_payload", {}),
        "action": b.get("action", ""),
        "reviewer": b.get("reviewer", ""),
        "reason": b.get("reason", ""),
        "by": b.get("by", ""),
    }


def build_trail(events: Sequence[Event], policy_text: str | None, verify_ok: bool | None) -> dict[str, Any]:
    """The JSON-able story of one decision from its events (in seq order).

    ``policy_text`` is the stored text of the version that routed it (None if not stored);
    ``verify_ok`` says whether the events' hashes and links verified (None: not checked).
    """
    evs = sorted(events, key=lambda e: e.seq)
    first = evs[0] if evs else None
    trail: dict[str, Any] = {
        "decision_id": first.decision_id if first else "",
        "decision_type": first.decision_type if first else "",
        "subject_ref": "",
        "request_id": "",
        "requested_by": "",
        "received_at": None,
        "input": {},
        "proposal": {},
        "policy": {
            "name": first.policy_name if first else "",
            "version": first.policy_version if first else 0,
            "digest": first.policy_digest if first else "",
            "text": policy_text,
        },
        "routing": None,
        "audit_sample": None,
        "claims": [],
        "releases": [],
        "reviews": [],
        "corrections": [],
        "final": None,
        "contests": [],
        "other_events": [],
    }
    for e in evs:
        b = e.body
        at = iso_utc(e.time)
        if e.type == "decision_received":
            trail.update(
                subject_ref=b.get("subject_ref", ""),
                request_id=b.get("request_id", ""),
                requested_by=b.get("requested_by", e.actor),
                received_at=at,
                input=b.get("input", {}),
                proposal=b.get("proposal", {}),
            )
        elif e.type == "gold_injected":  # a known-answer case, not a caller's request (review/gold.py)
            trail.update(
                received_at=at,
                requested_by=e.actor,
                input=b.get("input", {}),
                proposal={"outcome": b.get("proposal_outcome"), "confidence": b.get("confidence")},
                gold={
                    "case_id": b.get("gold_case_id", ""),
                    "name": b.get("name", ""),
                    "expected": b.get("expected", ""),
                    "alongside": b.get("alongside", ""),
                    "probability": b.get("probability"),
                },
            )
        elif e.type == "routed":
            trail["routing"] = {
                "at": at,
                "route": b.get("route", ""),
                "rule": b.get("rule", ""),
                "reasons": list(b.get("reasons", [])),
                "failed_closed": bool(b.get("failed_closed", False)),
                "significant": bool(b.get("significant", False)),
            }
        elif e.type == "audit_sampled":
            trail["audit_sample"] = {
                "at": at,
                "task_id": b.get("task_id", ""),
                "queue": b.get("queue", ""),
                "probability": b.get("probability"),
            }
        elif e.type == "review_claimed":
            trail["claims"].append(
                {
                    "seq": e.seq,
                    "at": at,
                    "by": e.actor,
                    "task_id": b.get("task_id", ""),
                    "queue": b.get("queue", ""),
                    "kind": b.get("kind", ""),
                    "lease_expires_at": b.get("lease_expires_at", ""),
                }
            )
        elif e.type == "review_released":
            trail["releases"].append(
                {
                    "seq": e.seq,
                    "at": at,
                    "by": e.actor,
                    "task_id": b.get("task_id", ""),
                    "queue": b.get("queue", ""),
                    "reason": b.get("reason", ""),
                    "claimed_by": b.get("claimed_by", ""),
                }
            )
        elif e.type == "review_submitted":
            trail["reviews"].append(
                {
                    "seq": e.seq,
                    "at": at,
                    "by": b.get("reviewer", e.actor),
                    "task_id": b.get("task_id", ""),
                    "queue": b.get("queue", ""),
                    "kind": b.get("kind", ""),
                    "action": b.get("action", ""),
                    "outcome": b.get("outcome", ""),
                    "proposal_outcome": b.get("proposal_outcome", ""),
                    "was_override": bool(b.get("was_override", False)),
                    "payload": b.get("payload", {}),
                    "reason": b.get("reason", ""),
                    "time_to_decision_seconds": b.get("time_to_decision_seconds"),
                    "active_seconds": b.get("active_seconds"),
                }
            )
        elif e.type == "decision_finalized":
            trail["final"] = _final(e, b)
        elif e.type == "correction":
            trail["corrections"].append(
                {
                    "seq": e.seq,
                    "at": at,
                    "by": e.actor,
                    "original_outcome": b.get("original_outcome", ""),
                    "outcome": b.get("outcome", ""),
                    "action": b.get("action", ""),
                    "reason": b.get("reason", ""),
                    "payload": b.get("payload", {}),
                    "via": b.get("via", "audit"),
                }
            )
        elif e.type == "decision_contested":
            trail["contests"].append(
                {
                    "seq": e.seq,
                    "at": at,
                    "by": e.actor,
                    "task_id": b.get("task_id", ""),
                    "queue": b.get("queue", ""),
                    "statement": b.get("statement", ""),
                    "original_outcome": b.get("original_outcome", ""),
                    "result": None,
                }
            )
        elif e.type == "contest_decided":
            for c in trail["contests"]:
                if c["task_id"] == b.get("task_id"):
                    c["result"] = {
                        "seq": e.seq,
                        "at": at,
                        "by": e.actor,
                        "result": b.get("result", ""),
                        "outcome": b.get("outcome", ""),
                        "reason": b.get("reason", ""),
                    }
        else:
            trail["other_events"].append({"at": at, "type": e.type, "actor": e.actor, "body": b})
    corrected = trail["corrections"][-1]["outcome"] if trail["corrections"] else None
    final = trail["final"]
    trail["outcome"] = corrected or (final["outcome"] if final else None)
    trail["state"] = "final" if final else "pending"
    trail["events"] = [
        {
            "seq": e.seq,
            "time": iso_utc(e.time),
            "type": e.type,
            "actor": e.actor,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in evs
    ]
    trail["chain"] = {
        "count": len(evs),
        "first_seq": evs[0].seq if evs else None,
        "last_seq": evs[-1].seq if evs else None,
        "first_prev_hash": evs[0].prev_hash if evs else None,
        "last_hash": evs[-1].hash if evs else None,
        "verified": verify_ok,
    }
    return trail


def _kv(mapping: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_shown(v)}" for k, v in sorted(mapping.items())) or "(none)"


def _shown(value: Any) -> str:
    """A value as explain prints it; an erased personal field as ``[erased]``."""
    if isinstance(value, Mapping) and value.get("$erased") is True:
        return "[erased]"
    return json.dumps(value, ensure_ascii=False)


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, int | float) else "?"


def render_trail(trail: Mapping[str, Any]) -> str:
    """The trail in plain words, for a data subject's request or an auditor's file."""
    out: list[str] = []
    w = out.append
    if not trail["events"]:  # nothing chained records it: no story, and no policy to show
        w(
            f"Decision {trail['decision_id']}: the audit log holds no events for this decision, so nothing "
            "records how it was decided; the decisions table row alone is not evidence."
        )
        return "\n".join(out) + "\n"
    w(f"Decision {trail['decision_id']} ({trail['decision_type']})")
    w(f"  subject {trail['subject_ref'] or '-'}, request {trail['request_id'] or '-'}")
    w("")
    gold = trail.get("gold")
    if gold:
        w(
            f"Gold case {gold['case_id']} ({gold['name']}), injected {trail['received_at'] or '?'} into the queue "
            f"beside decision {gold['alongside']} (gold_rate {_pct(gold['probability'])}); known answer "
            f"{gold['expected']}. No caller asked for it; it counts in no statistic but its reviewers' gold accuracy."
        )
    else:
        w(f"Received {trail['received_at'] or '?'} from {trail['requested_by'] or '?'}.")
    w(f"  Input: {_kv(trail['input'])}")
    if trail.get("erased"):
        w(
            f"  Personal data erased: {', '.join(trail['erased'])} (the subject's key was destroyed; "
            "the log keeps only ciphertext, and the chain still verifies)."
        )
    p = trail["proposal"] or {}
    if p:
        model = " ".join(x for x in (p.get("model"), p.get("model_version")) if x) or "?"
        w(f"  The model {model} proposed {p.get('outcome')!s} with confidence {_pct(p.get('confidence'))}.")
        if p.get("scores"):
            w(f"  Scores: {_kv(p['scores'])}")
        if p.get("explanation"):
            w(f"  Its explanation: {p['explanation']}")
        call = p.get("call") or {}
        if call.get("failure"):
            w(f"  The gateway called binding {call.get('binding')}; it failed: {call['failure']}.")
        elif call:
            raw = f"raw reply {call['raw']}" if "raw" in call else f"raw reply sha256 {call.get('raw_sha256')}"
            w(
                f"  The gateway called binding {call.get('binding')} ({call.get('model_name')} version "
                f"{call.get('model_version') or '?'}) in {call.get('latency_ms')} ms; {raw}"
            )
            for s in call.get("shadows") or []:
                w(f"  Shadow {s.get('binding')}: {s.get('failure') or s.get('outcome')} (logged, not used).")
    pol = trail["policy"]
    r = trail["routing"]
    w("")
    if r:
        where = "decided automatically" if r["route"] == "auto" else f"held for the {r['route']} queue"
        w(
            f"Routed {r['at']}: {where}, by rule {r['rule']!r} of policy {pol['name']} "
            f"version {pol['version']} (digest {pol['digest']})."
        )
        for reason in r["reasons"]:
            w(f"  Reason: {reason}")
        if r["failed_closed"]:
            w("  The policy could not judge this request, so it failed closed to human review.")
        if r["significant"]:
            w("  This decision has legal or similarly significant effect (GDPR Art. 22).")
    else:
        w("No routing event was found.")
    s = trail["audit_sample"]
    if s:
        w(f"  Drawn {s['at']} for audit (probability {_pct(s['probability'])}) into queue {s['queue']}.")
    steps: list[tuple[int, list[str]]] = []
    for c in trail["claims"]:
        steps.append(
            (
                c["seq"],
                [
                    (
                        f"Claimed {c['at']} by {c['by']} from queue {c['queue']} ({c['kind']}), "
                        f"lease until {c['lease_expires_at'] or '?'}."
                    )
                ],
            )
        )
    for c in trail["releases"]:
        who = f" (held by {c['claimed_by']})" if c["claimed_by"] else ""
        steps.append((c["seq"], [f"Released {c['at']} by {c['by']}{who}: {c['reason']}."]))
    for v in trail["reviews"]:
        took = v["time_to_decision_seconds"]
        after = f", {took:.1f} s after receipt" if isinstance(took, int | float) else ""
        change = "overriding" if v["was_override"] else "keeping"
        lines = [
            (
                f"Signed off {v['at']} by {v['by']} ({v['kind']} in queue {v['queue']}): {v['action']}, "
                f"outcome {v['outcome']}, {change} the proposal {v['proposal_outcome']}{after}."
            )
        ]
        if v["reason"]:
            lines.append(f"  Reason given: {v['reason']}")
        if v["payload"]:
            lines.append(f"  Payload: {_kv(v['payload'])}")
        steps.append((v["seq"], lines))
    for k in trail["contests"]:
        lines = [
            f"Contested {k['at']} by {k['by']} for the data subject ({k['original_outcome']}), heard in "
            f"{k['queue']}: {k['statement']}"
        ]
        r = k["result"]
        if r:
            verdict = "upheld" if r["result"] == "upheld" else f"reversed to {r['outcome']}"
            lines.append(f"  Contest {verdict} {r['at']} by {r['by']}. Reason: {r['reason'] or '-'}")
        else:
            lines.append("  The contest is not decided yet.")
        steps.append((k["seq"], lines))
    for c in trail["corrections"]:
        via = (
            "on contest"
            if any(k["result"] and k["result"]["seq"] < c["seq"] for k in trail["contests"])
            else "on audit"
        )
        steps.append(
            (
                c["seq"],
                [
                    (
                        f"Corrected {c['at']} by {c['by']} {via}: {c['original_outcome']} -> "
                        f"{c['outcome']} ({c['action']}). Reason: {c['reason'] or '-'}"
                    )
                ],
            )
        )
    for _, lines in sorted(steps, key=lambda step: step[0]):
        out.extend(lines)
    f = trail["final"]
    w("")
    if f:
        by = f"by {f['reviewer']}" if f["reviewer"] else f"({f['by']})"
        w(f"Final {f['at']}: {f['outcome']} [{f['status']}] {by}.")
    else:
        w("Not final yet: the decision awaits a person.")
    if trail["corrections"]:
        w(f"Corrected to {trail['outcome']}: the outcome above was found wrong after the fact.")
    for o in trail["other_events"]:
        w(f"{o['type']} {o['at']} by {o['actor']}: {_kv(o['body'])}")
    for m in trail.get("state_mismatches", []):
        w(m + ": Get and Query serve the table; the events are the record.")
    ch = trail["chain"]
    verdict = {True: "verify", False: "DO NOT VERIFY", None: "were not checked"}[ch["verified"]]
    w("")
    w(
        f"Audit chain: {ch['count']} events, seq {ch['first_seq']} to {ch['last_seq']}; "
        f"their hashes and links {verdict}."
    )
    for e in trail["events"]:
        w(f"  {e['seq']:>10}  {e['time']}  {e['type']:<19} {e['actor']:<16} {e['hash']}")
    w("")
    if pol.get("text_mismatch"):
        w(
            f"Policy text of {pol['name']} version {pol['version']}: the stored text DOES NOT MATCH the digest "
            f"{pol['digest']} the events recorded; not shown (policy_versions was edited)."
        )
    elif pol["text"] is None:
        w(f"Policy text of {pol['name']} version {pol['version']}: not stored.")
    else:
        w(f"Policy text of {pol['name']} version {pol['version']} (digest {pol['digest']}):")
        w(textwrap.indent(pol["text"].rstrip("\n"), "  | ", lambda _line: True))
    return "\n".join(out) + "\n"
