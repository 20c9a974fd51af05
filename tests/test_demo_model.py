"""The demo's synthetic day is the seed's day: a calibrated model, the 78/15/7 split, 23% overridden."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from gateway import demo

ROOT = Path(__file__).resolve().parent.parent
N = 40_000
SEED = 11


@pytest.fixture(scope="module")
def day() -> list[demo.Claim]:
    """A large fixed-seed day, so the rates below are tight."""
    return list(demo.generate(N, SEED))


def _route(claim: demo.Claim) -> str:
    """The seed's thresholds, written out again here rather than taken from gateway.demo."""
    if claim.amount >= 50_000 or claim.confidence < 0.70:
        return "senior"
    return "junior" if claim.confidence <= 0.92 else "auto"


class TestCalibration:
    """Among proposals with confidence about c, a share of about c is right."""

    def test_accuracy_matches_confidence_in_each_bin(self, day: list[demo.Claim]) -> None:
        """In every populated 0.05-wide confidence bin, accuracy is within 0.03 of mean confidence."""
        bins: dict[int, list[demo.Claim]] = {}
        for c in day:
            bins.setdefault(min(int(c.confidence / 0.05), 19), []).append(c)
        populated = {b: cs for b, cs in bins.items() if len(cs) >= 500}
        assert len(populated) >= 6  # 0.65 through 0.95, including the 0.80 bin
        for b, cs in sorted(populated.items()):
            accuracy = sum(c.correct for c in cs) / len(cs)
            mean = sum(c.confidence for c in cs) / len(cs)
            assert abs(accuracy - mean) < 0.03, f"bin {b * 0.05:.2f}: accuracy {accuracy:.3f}, confidence {mean:.3f}"

    def test_overall_accuracy_equals_mean_confidence(self, day: list[demo.Claim]) -> None:
        """Over the whole day, accuracy and mean confidence agree within half a point."""
        accuracy = sum(c.correct for c in day) / N
        mean = sum(c.confidence for c in day) / N
        assert abs(accuracy - mean) < 0.005

    def test_confidence_is_a_probability(self, day: list[demo.Claim]) -> None:
        """Every confidence lies in (0, 1) and is the proposal's score."""
        assert all(0 < c.confidence < 1 and c.scores[c.proposal] == c.confidence for c in day)


class TestSeedFigures:
    """The day reproduces the seed's insurer: 78/15/7, 3% large claims, 23% overridden."""

    def test_route_split_is_78_15_7(self, day: list[demo.Claim]) -> None:
        """Applying the policy thresholds gives 78% auto, 15% junior, 7% senior, each within 1.5 points."""
        split = Counter(_route(c) for c in day)
        assert split["auto"] / N == pytest.approx(0.78, abs=0.015)
        assert split["junior"] / N == pytest.approx(0.15, abs=0.015)
        assert split["senior"] / N == pytest.approx(0.07, abs=0.015)

    def test_about_three_percent_of_claims_are_large(self, day: list[demo.Claim]) -> None:
        """About 3% of amounts are $50,000 or more."""
        assert sum(c.amount >= 50_000 for c in day) / N == pytest.approx(0.03, abs=0.005)

    def test_reviewers_override_about_23_percent(self, day: list[demo.Claim]) -> None:
        """Among claims routed to a person, about 23% of proposals are wrong and get overridden."""
        reviewed = [c for c in day if _route(c) != "auto"]
        overridden = sum(demo.review(c).action == "OVERRIDE" for c in reviewed)
        assert overridden / len(reviewed) == pytest.approx(0.23, abs=0.02)

    def test_expected_route_agrees_with_the_thresholds(self, day: list[demo.Claim]) -> None:
        """gateway.demo's own routing matches the thresholds written out in this test."""
        assert all(demo.expected_route(c) == _route(c) for c in day)


class TestClaims:
    """Claims are reproducible, valid policy input, and traceable from their request id."""

    def test_same_seed_and_index_give_the_same_claim(self) -> None:
        """claim_at is a pure function of (seed, index)."""
        assert demo.claim_at(5, 17) == demo.claim_at(5, 17)
        assert demo.claim_at(5, 17) != demo.claim_at(6, 17)

    def test_input_satisfies_the_claims_policy_schema(self, day: list[demo.Claim]) -> None:
        """Every claim's input validates against claims-triage's input_schema."""
        policy = yaml.safe_load((ROOT / "policies" / "claims-triage.yaml").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(policy["input_schema"])
        assert all(validator.is_valid(c.input()) for c in day[:2000])

    def test_outcomes_are_the_policy_outcomes(self) -> None:
        """The model proposes, and reviewers choose, only outcomes the policy declares."""
        policy = yaml.safe_load((ROOT / "policies" / "claims-triage.yaml").read_text(encoding="utf-8"))
        assert set(demo.OUTCOMES) == set(policy["outcomes"])

    def test_request_id_round_trips(self) -> None:
        """parse_request_id recovers the seed and index that rebuild the claim."""
        claim = demo.claim_at(2024, 1999)
        assert demo.parse_request_id(demo.request_id("a1b2c3d4", claim)) == (2024, 1999)

    def test_other_request_ids_are_not_demo_claims(self) -> None:
        """A request id the demo did not make parses to None."""
        assert demo.parse_request_id("test-6f1c0c0e-5b7a-4b59-9a55-0e4c1a6f3d2b") is None
        assert demo.parse_request_id("demo-x-sabc-1") is None


class TestReviewer:
    """The simulated adjuster approves right proposals and overrides wrong ones with the truth."""

    def test_right_proposal_is_approved(self, day: list[demo.Claim]) -> None:
        """A correct proposal gets APPROVE and keeps its outcome."""
        claim = next(c for c in day if c.correct)
        assert demo.review(claim) == demo.ReviewerVerdict("APPROVE", claim.proposal, "")

    def test_wrong_proposal_is_overridden_with_a_reason(self, day: list[demo.Claim]) -> None:
        """A wrong proposal gets OVERRIDE to the true outcome, with a reason."""
        claim = next(c for c in day if not c.correct)
        verdict = demo.review(claim)
        assert (verdict.action, verdict.outcome) == ("OVERRIDE", claim.truth)
        assert verdict.reason
