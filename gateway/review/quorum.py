"""Four-eyes review: N distinct reviewers, an agreement rule, and approvals bound to what they approved.

Pure: the tally reads votes and a :class:`~gateway.policy.model.Quorum` and says whether the
decision is final, still waiting, or in disagreement; the use case turns that into a Change.

Each vote carries the digest of the outcome and payload it signed. An edit gives a new digest for
the same outcome, so earlier votes for that outcome with the old digest no longer count (their
reviewers may sign again): nobody's approval is carried over to a payload they did not see.
Votes for different outcomes are disagreement, not invalidation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from gateway.errors import PermissionDenied, PreconditionFailed
from gateway.policy.model import Quorum

__all__ = ["Tally", "Vote", "check_voter", "signed_digest", "tally", "valid_votes"]


def signed_digest(outcome: str, payload: Mapping[str, Any]) -> str:
    """sha256 of the outcome and payload a reviewer signs, in canonical JSON."""
    text = json.dumps(
        {"outcome": outcome, "payload": dict(payload)}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Vote:
    """One reviewer's sign-off on a four-eyes task."""

    reviewer: str
    outcome: str
    digest: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Tally:
    """Where a four-eyes task stands: ``agreed`` (final, with ``outcome``), ``pending`` or ``disagreed``.

    ``needed`` is how many more matching votes would make it agreed (0 once agreed or disagreed).
    """

    state: Literal["agreed", "pending", "disagreed"]
    outcome: str | None
    counts: Mapping[str, int]
    needed: int


def valid_votes(votes: Sequence[Vote]) -> list[Vote]:
    """The votes that still count: for each outcome, only those for its latest signed digest."""
    latest: dict[str, str] = {}
    for vote in sorted(votes, key=lambda v: v.at):
        latest[vote.outcome] = vote.digest
    seen: set[str] = set()
    out = []
    for vote in sorted(votes, key=lambda v: v.at, reverse=True):  # a reviewer's newest valid vote
        if vote.digest == latest[vote.outcome] and vote.reviewer not in seen:
            seen.add(vote.reviewer)
            out.append(vote)
    return sorted(out, key=lambda v: v.at)


def check_voter(reviewer: str, requested_by: str, votes: Sequence[Vote]) -> None:
    """Reviewers are distinct from the requester and from each other (a stale vote may be renewed)."""
    if reviewer == requested_by:
        raise PermissionDenied(f"{reviewer} requested this decision and may not review it")
    if any(v.reviewer == reviewer for v in valid_votes(votes)):
        raise PreconditionFailed(f"{reviewer} has already signed this task; another reviewer must")


def tally(quorum: Quorum, votes: Sequence[Vote]) -> Tally:
    """Apply the agreement rule to the valid votes.

    unanimous: agreed when ``reviewers`` valid votes all give one outcome; disagreed as soon as two
    valid votes differ. majority: agreed when one outcome has more than half of ``reviewers``;
    disagreed once that can no longer happen with the votes still to come.
    """
    valid = valid_votes(votes)
    counts: dict[str, int] = {}
    for vote in valid:
        counts[vote.outcome] = counts.get(vote.outcome, 0) + 1
    n = quorum.reviewers
    best, top = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
    if quorum.agreement == "unanimous":
        if len(counts) > 1:
            return Tally("disagreed", None, counts, 0)
        if top >= n:
            return Tally("agreed", best, counts, 0)
        return Tally("pending", None, counts, n - top)
    if 2 * top > n:
        return Tally("agreed", best, counts, 0)
    remaining = max(n - len(valid), 0)
    if 2 * (top + remaining) <= n:
        return Tally("disagreed", None, counts, 0)
    return Tally("pending", None, counts, n // 2 + 1 - top)
