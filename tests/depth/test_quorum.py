"""Four-eyes tallies: distinct reviewers, unanimous and majority rules, approvals bound to a digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.errors import PermissionDenied, PreconditionFailed
from gateway.policy.model import Quorum
from gateway.review.quorum import Vote, check_voter, signed_digest, tally, valid_votes

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PLAIN = signed_digest("approve", {})
EDITED = signed_digest("approve", {"amount": 900})
DENY = signed_digest("deny", {})


def vote(who: str, outcome: str, digest: str, minute: int) -> Vote:
    """A vote at T0 plus ``minute`` minutes."""
    return Vote(who, outcome, digest, T0 + timedelta(minutes=minute))


class TestTallyUnanimous:
    """Two of two, unanimous."""

    QUORUM = Quorum(2, "unanimous", "senior")

    def test_one_vote_is_pending(self):
        """One approval of two needed leaves the task waiting for one more."""
        t = tally(self.QUORUM, [vote("ann", "approve", PLAIN, 1)])
        assert (t.state, t.needed) == ("pending", 1)

    def test_two_matching_votes_agree(self):
        """Two distinct reviewers giving one outcome make the decision final."""
        t = tally(self.QUORUM, [vote("ann", "approve", PLAIN, 1), vote("bob", "approve", PLAIN, 2)])
        assert (t.state, t.outcome, t.needed) == ("agreed", "approve", 0)

    def test_different_outcomes_disagree(self):
        """Two valid votes for different outcomes cannot become unanimous."""
        t = tally(self.QUORUM, [vote("ann", "approve", PLAIN, 1), vote("bob", "deny", DENY, 2)])
        assert (t.state, t.outcome) == ("disagreed", None)

    def test_an_edit_invalidates_the_earlier_approval(self):
        """An approval of the old payload does not count for the edited one."""
        votes = [vote("ann", "approve", PLAIN, 1), vote("bob", "approve", EDITED, 2)]
        t = tally(self.QUORUM, votes)
        assert (t.state, dict(t.counts), [v.reviewer for v in valid_votes(votes)]) == (
            "pending",
            {"approve": 1},
            ["bob"],
        )

    def test_the_invalidated_reviewer_may_sign_again(self):
        """After the edit, the first reviewer's new approval of it completes the quorum."""
        votes = [vote("ann", "approve", PLAIN, 1), vote("bob", "approve", EDITED, 2)]
        check_voter("ann", "svc", votes)
        t = tally(self.QUORUM, [*votes, vote("ann", "approve", EDITED, 3)])
        assert (t.state, t.outcome) == ("agreed", "approve")

    def test_one_reviewer_cannot_fill_the_quorum(self):
        """The same reviewer's second valid vote counts once: a vote per person."""
        votes = [vote("ann", "approve", PLAIN, 1), vote("ann", "approve", PLAIN, 2)]
        assert tally(self.QUORUM, votes).state == "pending"


class TestTallyMajority:
    """Three reviewers, majority."""

    QUORUM = Quorum(3, "majority", "senior")

    def test_two_of_three_agree(self):
        """Two matching votes of three are a majority, whatever the third will say."""
        t = tally(self.QUORUM, [vote("ann", "deny", DENY, 1), vote("bob", "deny", DENY, 2)])
        assert (t.state, t.outcome) == ("agreed", "deny")

    def test_split_waits_for_the_third(self):
        """One vote each way leaves the third reviewer to decide."""
        t = tally(self.QUORUM, [vote("ann", "deny", DENY, 1), vote("bob", "approve", PLAIN, 2)])
        assert (t.state, t.needed) == ("pending", 1)

    def test_three_way_split_disagrees(self):
        """Three votes for three outcomes leave no majority possible."""
        partial = signed_digest("partial", {})
        votes = [vote("ann", "deny", DENY, 1), vote("bob", "approve", PLAIN, 2), vote("cat", "partial", partial, 3)]
        assert tally(self.QUORUM, votes).state == "disagreed"

    def test_even_quorum_tie_disagrees(self):
        """Two of four is not more than half: a 2-2 split is disagreement."""
        votes = [
            vote("ann", "deny", DENY, 1),
            vote("bob", "deny", DENY, 2),
            vote("cat", "approve", PLAIN, 3),
            vote("dan", "approve", PLAIN, 4),
        ]
        assert tally(Quorum(4, "majority", "senior"), votes).state == "disagreed"


class TestCheckVoter:
    """Who may add a vote."""

    def test_requester_is_refused(self):
        """The principal that requested the decision may not review it."""
        with pytest.raises(PermissionDenied):
            check_voter("svc", "svc", [])

    def test_second_vote_by_the_same_reviewer_is_refused(self):
        """A reviewer with a valid vote must leave the next one to someone else."""
        with pytest.raises(PreconditionFailed, match="another reviewer"):
            check_voter("ann", "svc", [vote("ann", "approve", PLAIN, 1)])

    def test_signed_digest_binds_outcome_and_payload(self):
        """The digest changes with the payload and with the outcome, and not with key order."""
        assert len({PLAIN, EDITED, DENY}) == 3
        assert signed_digest("x", {"a": 1, "b": 2}) == signed_digest("x", {"b": 2, "a": 1})
