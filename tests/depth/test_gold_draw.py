"""The gold draw and the case picked: reproducible, at the queue's rate, independent of the other
draws, and only cases the policy routes to the queue (simulated over fixed ids)."""

from __future__ import annotations

from gateway.policy import load_policy_dir
from gateway.review.blind import blind_draw
from gateway.review.gold import StoredGold, gold_draw, pick_case
from gateway.review.rules import sample_draw
from tests.policy.conftest import POLICIES

N = 20_000
IDS = [f"id-{i}" for i in range(N)]
CLAIMS = {p.decision: p for p in load_policy_dir(POLICIES)}["claims.payout"]


def _case(case_id: str, confidence: float, amount: float = 900) -> StoredGold:
    return StoredGold(
        case_id, "claims.payout", case_id, {"amount": amount, "claim_type": "auto"}, "approve", confidence, "deny"
    )


class TestGoldDraw:
    """The draw that brings a gold case into a queue beside a held decision."""

    def test_draw_is_fixed_by_the_decision_id(self) -> None:
        assert gold_draw("d1") == gold_draw("d1") and 0 <= gold_draw("d1") < 1

    def test_share_drawn_matches_the_rate(self) -> None:
        """Over 20,000 ids the share drawn at rate 0.05 lies within 0.045..0.055 (about 3.3 sd)."""
        share = sum(gold_draw(i) < 0.05 for i in IDS) / N
        assert 0.045 < share < 0.055

    def test_the_share_check_can_fail(self) -> None:
        """The same band at rate 0.06 is missed: the check tells the rates apart."""
        share = sum(gold_draw(i) < 0.06 for i in IDS) / N
        assert not 0.045 < share < 0.055

    def test_independent_of_the_audit_and_blind_draws(self) -> None:
        """Drawn gold and drawn blind (both at 0.2) together: about 0.04 of ids, as independence says."""
        both = sum(gold_draw(i) < 0.2 and blind_draw(i) < 0.2 for i in IDS) / N
        with_audit = sum(gold_draw(i) < 0.2 and sample_draw(i) < 0.2 for i in IDS) / N
        assert 0.035 < both < 0.045 and 0.035 < with_audit < 0.045

    def test_correlated_draws_would_fail_that_check(self) -> None:
        """A draw reused under two names gives 0.2 together, far outside the band."""
        both = sum(gold_draw(i) < 0.2 and gold_draw(i) < 0.2 for i in IDS) / N
        assert not 0.035 < both < 0.045


class TestPickCase:
    """Which loaded case joins the queue."""

    def test_only_cases_routed_to_the_queue_are_picked(self) -> None:
        """0.85 routes to junior, 0.5 to senior, 0.97 is automatic: junior gets only the first."""
        cases = [_case("a", 0.85), _case("b", 0.5), _case("c", 0.97)]
        assert {pick_case(cases, CLAIMS, "junior", i).case_id for i in IDS[:200]} == {"a"}  # type: ignore[union-attr]
        assert {pick_case(cases, CLAIMS, "senior", i).case_id for i in IDS[:200]} == {"b"}  # type: ignore[union-attr]

    def test_no_fitting_case_means_no_injection(self) -> None:
        assert pick_case([_case("c", 0.97)], CLAIMS, "junior", "id-1") is None

    def test_fitting_cases_are_used_evenly(self) -> None:
        """Three junior cases over 3,000 held decisions: each picked 900..1100 times."""
        cases = [_case(n, 0.8) for n in ("x", "y", "z")]
        counts = {n: 0 for n in ("x", "y", "z")}
        for i in IDS[:3000]:
            counts[pick_case(cases, CLAIMS, "junior", i).case_id] += 1  # type: ignore[union-attr]
        assert all(900 < c < 1100 for c in counts.values()), counts
