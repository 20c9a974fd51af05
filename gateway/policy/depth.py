"""Review depth in a policy: SLAs and timeouts, four-eyes quorums, contest, reopen, blind and gold shares.

Pure: stdlib only. Kept apart from the routing stages in ``compiler`` because these keys say what
happens to a task once it is in a queue, not where it goes. ``STAGES`` are semantic checks in the
compiler's shape (each appends issues to the context, none raises); the ``build_*`` functions turn a
document the checks passed into the frozen model types.

When the principals file is known (``Context.staff``, from ``signoff policy lint --principals``),
the checks also ask whether the people exist to do what the policy asks of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from gateway.policy.analysis import parse_duration
from gateway.policy.model import AUTO, Contest, Queue, Quorum, Reopen, Sla, TimeoutAction

__all__ = [
    "STAGES",
    "build_contest",
    "build_queue",
    "build_reopen",
    "build_rule_quorums",
    "workers",
]

Path = tuple[str | int, ...]
_QUORUM_KEYS = ("reviewers", "agreement", "on_disagreement")
_DURATION_HINT = "write whole numbers with units d, h, m, s in that order, e.g. 90s, 15m, 4h, 1h30m"


class _Ctx(Protocol):
    """The part of ``compiler.Context`` these stages use (structural: the compiler imports us)."""

    doc: Mapping[str, Any]
    staff: Mapping[str, frozenset[str]] | None

    def add(self, parts: Path, code: str, message: str, severity: Any = ...) -> None:
        """Record one issue."""


def workers(staff: Mapping[str, frozenset[str]], roles: Any) -> list[str]:
    """The principals (by name) holding at least one of ``roles``, sorted."""
    wanted = set(roles or ())
    return sorted(name for name, held in staff.items() if wanted & held)


def _queues(ctx: _Ctx) -> Mapping[str, Mapping[str, Any]]:
    return ctx.doc.get("queues") or {}


def _duration(ctx: _Ctx, parts: Path, value: Any, what: str) -> int | None:
    seconds = parse_duration(value)
    if seconds is None:
        ctx.add(parts, "bad_duration", f"{what} {value!r} is not a positive duration; {_DURATION_HINT}")
    return seconds


def _known_queue(ctx: _Ctx, parts: Path, name: Any) -> bool:
    if name in _queues(ctx):
        return True
    hint = "; 'auto' is not a queue" if name == AUTO else ""
    ctx.add(parts, "unknown_queue", f"queue '{name}' is not declared{hint}")
    return False


def check_slas(ctx: _Ctx) -> None:
    """Due and warning times are durations, warning before due; a timeout acts on something real.

    Fail closed: on a significant decision a timeout may never decide an adverse outcome, whatever
    the GDPR basis, because no human looked at it.
    """
    outcomes, adverse = set(ctx.doc.get("outcomes") or []), set(ctx.doc.get("adverse_outcomes") or [])
    for name, queue in _queues(ctx).items():
        sla = queue.get("sla")
        if sla is None:
            continue
        at: Path = ("queues", name, "sla")
        due = _duration(ctx, (*at, "due"), sla["due"], "due")
        warn = _duration(ctx, (*at, "warn"), sla["warn"], "warn") if "warn" in sla else None
        if due is not None and warn is not None and warn >= due:
            ctx.add(
                (*at, "warn"),
                "warn_after_due",
                f"warn {sla['warn']!r} is not before due {sla['due']!r}; a warning must come first",
            )
        action = sla["on_timeout"]
        if action["action"] == "escalate" and _known_queue(ctx, (*at, "on_timeout", "queue"), action["queue"]):
            if action["queue"] == name:
                ctx.add(
                    (*at, "on_timeout", "queue"),
                    "timeout_loop",
                    f"queue '{name}' escalates to itself: the task would time out for ever",
                )
        elif action["action"] == "decide":
            outcome = action["outcome"]
            if outcome not in outcomes:
                ctx.add(
                    (*at, "on_timeout", "outcome"), "unknown_outcome", f"outcome '{outcome}' is not listed in outcomes"
                )
            elif ctx.doc.get("significant") and outcome in adverse:
                ctx.add(
                    (*at, "on_timeout", "outcome"),
                    "timeout_adverse_outcome",
                    f"a timeout in queue '{name}' would decide adverse outcome '{outcome}' on a significant "
                    "decision with no human; escalate or expire instead",
                )


def _quorum_places(ctx: _Ctx) -> Iterator[tuple[Path, Mapping[str, Any], str | None]]:
    """``(path, mapping, queue)`` for every queue and rule that states quorum keys."""
    for name, queue in _queues(ctx).items():
        yield ("queues", name), queue, name
    for i, rule in enumerate(ctx.doc.get("rules") or []):
        if any(k in rule for k in _QUORUM_KEYS):
            yield ("rules", i), rule, rule.get("to")


def check_quorums(ctx: _Ctx) -> None:
    """N is at least 1; more than one reviewer needs a disagreement route; the staff can supply N."""
    for at, raw, queue in _quorum_places(ctx):
        if at[0] == "rules" and queue == AUTO:
            ctx.add(
                (*at, "to"),
                "quorum_on_auto",
                "the rule routes to auto, so no reviewer sees it; reviewers apply to queues only",
            )
            continue
        reviewers = raw.get("reviewers", _queues(ctx).get(queue or "", {}).get("reviewers", 1))
        if "reviewers" in raw and reviewers < 1:
            ctx.add((*at, "reviewers"), "reviewers_range", f"reviewers is {reviewers}; at least 1 must sign off")
            continue
        disagreement = raw.get("on_disagreement")
        if disagreement is not None:
            _known_queue(ctx, (*at, "on_disagreement", "queue"), disagreement["queue"])
        elif reviewers > 1 and not _queues(ctx).get(queue or "", {}).get("on_disagreement"):
            ctx.add(
                (*at, "reviewers"),
                "missing_on_disagreement",
                f"{reviewers} reviewers can disagree; say where a disagreement goes with on_disagreement",
            )
        if ctx.staff is not None and queue is not None and queue in _queues(ctx) and "reviewers" in raw:
            able = workers(ctx.staff, _queues(ctx)[queue]["roles"])
            if len(able) < reviewers:
                ctx.add(
                    (*at, "reviewers"),
                    "too_few_reviewers",
                    f"{reviewers} distinct reviewers are required but the principals file gives queue "
                    f"'{queue}' only {len(able)} ({', '.join(able) or 'nobody'})",
                )


def check_rates(ctx: _Ctx) -> None:
    """``blind_rate`` and ``gold_rate`` are shares in [0, 1]."""
    for name, queue in _queues(ctx).items():
        for key in ("blind_rate", "gold_rate"):
            value = queue.get(key)
            if value is not None and not 0 <= value <= 1:
                ctx.add(("queues", name, key), "rate_range", f"{key} {value} is outside [0, 1]")


def check_contest(ctx: _Ctx) -> None:
    """The window is a duration; the contest queue exists and someone can work it.

    No one who decided the original may hear its contest, so with the principals file known the
    contest queue needs one worker more than its quorum.
    """
    contest = ctx.doc.get("contest")
    if contest is None:
        return
    _duration(ctx, ("contest", "window"), contest["window"], "window")
    name = contest["queue"]
    if not _known_queue(ctx, ("contest", "queue"), name) or ctx.staff is None:
        return
    able = workers(ctx.staff, _queues(ctx)[name]["roles"])
    needed = int(_queues(ctx)[name].get("reviewers", 1)) + 1
    if len(able) < needed:
        ctx.add(
            ("contest", "queue"),
            "contest_queue_unworkable",
            f"contest queue '{name}' needs {needed} principals (its reviewers plus one, since whoever "
            f"decided the original may not hear the contest); the principals file gives it "
            f"{len(able)} ({', '.join(able) or 'nobody'})",
        )


def check_reopen(ctx: _Ctx) -> None:
    """The reopen queue exists."""
    reopen = ctx.doc.get("reopen")
    if reopen is not None:
        _known_queue(ctx, ("reopen", "queue"), reopen["queue"])


#: The review-depth stages, in order; the compiler runs them after its routing stages.
STAGES: tuple[tuple[str, Callable[[_Ctx], None]], ...] = (
    ("slas", check_slas),
    ("quorums", check_quorums),
    ("rates", check_rates),
    ("contest", check_contest),
    ("reopen", check_reopen),
)


def _quorum(raw: Mapping[str, Any], base: Quorum) -> Quorum:
    disagreement = raw.get("on_disagreement")
    return Quorum(
        int(raw.get("reviewers", base.reviewers)),
        raw.get("agreement", base.agreement),
        disagreement["queue"] if disagreement else base.escalate_to,
    )


def _sla(raw: Mapping[str, Any] | None) -> Sla | None:
    if raw is None:
        return None
    action = raw["on_timeout"]
    due = parse_duration(raw["due"])
    assert due is not None  # check_slas refused it otherwise
    return Sla(
        due,
        TimeoutAction(action["action"], action.get("queue"), action.get("outcome")),
        parse_duration(raw["warn"]) if "warn" in raw else None,
    )


def build_queue(name: str, raw: Mapping[str, Any]) -> Queue:
    """One checked queue mapping as a :class:`Queue`."""
    return Queue(
        name,
        tuple(raw["roles"]),
        raw.get("description", ""),
        _sla(raw.get("sla")),
        _quorum(raw, Quorum()),
        float(raw.get("blind_rate", 0.0)),
        float(raw.get("gold_rate", 0.0)),
    )


def build_rule_quorums(doc: Mapping[str, Any], queues: Mapping[str, Queue]) -> dict[str, Quorum]:
    """Rule name to quorum, for rules that override their queue's."""
    return {
        rule["name"]: _quorum(rule, queues[rule["to"]].quorum)
        for rule in doc.get("rules") or []
        if any(k in rule for k in _QUORUM_KEYS)
    }


def build_contest(doc: Mapping[str, Any]) -> Contest | None:
    """The checked ``contest`` section, or None when contests are not offered."""
    raw = doc.get("contest")
    if raw is None:
        return None
    window = parse_duration(raw["window"])
    assert window is not None  # check_contest refused it otherwise
    return Contest(window, raw["queue"], tuple(raw["roles"]))


def build_reopen(doc: Mapping[str, Any]) -> Reopen | None:
    """The checked ``reopen`` section, or None when no one may reopen."""
    raw = doc.get("reopen")
    return None if raw is None else Reopen(tuple(raw["roles"]), raw["queue"])
