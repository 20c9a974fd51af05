"""A seeded simulation of reviewers for the engagement statistics: careful people and a rubber-stamper.

Each task has a true outcome; the model proposes the truth with probability equal to its
confidence. A careful reviewer finds the truth with ``skill`` whatever the proposal says and takes
tens of seconds; a rubber-stamper lets the proposal stand in a second or two and, shown no
proposal (a blind task), says ``approve``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from audit.reviewers import Review

__all__ = ["Reviewer", "simulate"]

OUTCOMES = ("approve", "deny")


@dataclass(frozen=True)
class Reviewer:
    """How one simulated reviewer behaves."""

    name: str
    stamper: bool = False
    skill: float = 0.95
    override_bias: float = 0.0  # careful reviewers only: chance of letting a wrong proposal stand


def _judge(rng: random.Random, who: Reviewer, truth: str, proposed: str | None) -> str:
    if who.stamper:
        return proposed if proposed is not None else "approve"
    if proposed is not None and proposed != truth and rng.random() < who.override_bias:
        return proposed
    return truth if rng.random() < who.skill else OUTCOMES[1 - OUTCOMES.index(truth)]


def simulate(
    reviewers: list[Reviewer],
    *,
    tasks: int,
    seed: int,
    blind_rate: float = 0.1,
    gold_rate: float = 0.05,
    four_eyes_rate: float = 0.1,
    queue: str = "junior",
) -> list[Review]:
    """``tasks`` review tasks spread over ``reviewers``; gold proposals are always wrong."""
    rng = random.Random(seed)
    out: list[Review] = []
    for n in range(tasks):
        confidence = rng.uniform(0.70, 0.92)
        truth = rng.choice(OUTCOMES)
        wrong = OUTCOMES[1 - OUTCOMES.index(truth)]
        gold = rng.random() < gold_rate
        proposed = wrong if gold or rng.random() >= confidence else truth
        blind = not gold and rng.random() < blind_rate
        pair = not gold and not blind and rng.random() < four_eyes_rate and len(reviewers) > 1
        chosen = rng.sample(reviewers, 2) if pair else [rng.choice(reviewers)]
        for who in chosen:
            seconds = rng.uniform(0.8, 2.5) if who.stamper else rng.uniform(25, 140)
            outcome = _judge(rng, who, truth, None if blind else proposed)
            out.append(
                Review(
                    who.name,
                    queue,
                    proposed,
                    outcome,
                    confidence,
                    seconds,
                    blind,
                    truth if gold else None,
                    f"t{n}" if pair else None,
                )
            )
    return out
