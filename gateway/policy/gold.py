"""Gold cases: known-answer cases a compliance officer loads to measure reviewers.

Pure checks over a parsed gold file (the loader reads it). A gold file names its decision type
and lists cases, each an input, a proposal (possibly deliberately wrong) and the expected outcome:

    decision: claims.payout
    cases:
      - name: flood damage is excluded
        input: {amount: 4200, claim_type: home}
        proposal: {outcome: approve, confidence: 0.84, explanation: similar claims paid}
        expected: deny

A case may also give ``subject_ref`` (so it reads like a real one in the queue) and
``proposal.scores``. Each case is routed by the policy as it stands: one the policy decides
automatically would never reach a reviewer and is refused (``gold_never_reviewed``); the others
are injected only into the queue they route to. Every problem is an ``Issue`` with the file, the line and a stable code, like a policy's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.policy.compiler import json_path
from gateway.policy.model import EvalRequest, Issue, Policy

__all__ = ["GoldCase", "check_gold"]

Parts = tuple[str | int, ...]
_CASE_KEYS = {"name", "input", "proposal", "expected"}
_OPTIONAL = {"subject_ref"}


@dataclass(frozen=True, slots=True)
class GoldCase:
    """One checked gold case. ``trap`` when its proposal is deliberately not the expected outcome."""

    name: str
    decision_type: str
    input: Mapping[str, Any]
    outcome: str
    confidence: float
    explanation: str
    expected: str
    queue: str = ""
    """The queue the policy routes the case to today: the only one it is injected into."""
    line: int | None = None
    subject_ref: str = ""
    scores: Mapping[str, float] | None = None

    @property
    def trap(self) -> bool:
        """True when the proposal is wrong on purpose."""
        return self.outcome != self.expected


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_gold(
    doc: Any, file: str, locate: Callable[[Parts], int | None], policies: Mapping[str, Policy]
) -> tuple[list[GoldCase], list[Issue]]:
    """The cases of a parsed gold file and every issue found; no case is usable while any issue stands."""
    issues: list[Issue] = []

    def add(parts: Parts, code: str, message: str) -> None:
        issues.append(Issue(file, locate(parts), json_path(parts), code, message))

    decision = doc.get("decision") if isinstance(doc, Mapping) else None
    policy = policies.get(decision) if isinstance(decision, str) else None
    if not isinstance(decision, str):
        add(("decision",), "missing_key", "'decision' must name the decision type the cases are for")
    elif policy is None:
        add(("decision",), "unknown_decision_type", f"no loaded policy decides {decision!r}")
    raw = doc.get("cases") if isinstance(doc, Mapping) else None
    if not isinstance(raw, list) or not raw:
        add(("cases",), "bad_gold_case", "'cases' must be a non-empty list")
        return [], issues
    cases: list[GoldCase] = []
    for i, case in enumerate(raw):
        at: Parts = ("cases", i)
        if not isinstance(case, Mapping) or set(case) - _CASE_KEYS - _OPTIONAL or not _CASE_KEYS <= set(case):
            add(
                at,
                "bad_gold_case",
                f"a gold case is a mapping with {', '.join(sorted(_CASE_KEYS))} (and optionally subject_ref)",
            )
            continue
        proposal = case["proposal"]
        if (
            not isinstance(proposal, Mapping)
            or not isinstance(proposal.get("outcome"), str)
            or not _number(proposal.get("confidence"))
            or not 0 <= proposal["confidence"] <= 1
        ):
            add((*at, "proposal"), "bad_gold_case", "proposal needs an outcome and a confidence in [0, 1]")
            continue
        scores = proposal.get("scores", {})
        if not isinstance(scores, Mapping) or not all(isinstance(k, str) and _number(v) for k, v in scores.items()):
            add((*at, "proposal", "scores"), "bad_gold_case", "scores map each outcome to a number")
            continue
        if policy is None:
            continue
        for key, label in (("proposal", proposal["outcome"]), ("expected", case["expected"])):
            if label not in policy.outcomes:
                where = (*at, "proposal", "outcome") if key == "proposal" else (*at, "expected")
                add(
                    where,
                    "unknown_outcome",
                    f"outcome {label!r} is not listed in the policy's outcomes ({', '.join(policy.outcomes)})",
                )
        problems = (
            policy.validate_input(case["input"])
            if isinstance(case["input"], Mapping)
            else [("input", "must be a mapping")]
        )
        for field, message in problems:
            add((*at, "input"), "invalid_input", f"{field}: {message}")
        if issues:
            continue
        request = EvalRequest(dict(case["input"]), proposal["outcome"], float(proposal["confidence"]), dict(scores))
        route = policy.evaluate(request)
        if route.auto:
            add(
                at,
                "gold_never_reviewed",
                f"{policy.name} v{policy.version} decides this case automatically (rule {route.rule}): "
                "it would never reach a reviewer",
            )
            continue
        cases.append(
            GoldCase(
                str(case["name"]),
                policy.decision,
                dict(case["input"]),
                proposal["outcome"],
                float(proposal["confidence"]),
                str(proposal.get("explanation", "")),
                str(case["expected"]),
                queue=route.route,
                line=locate(at),
                subject_ref=str(case.get("subject_ref", "")),
                scores=dict(scores),
            )
        )
    return (cases if not issues else []), issues
