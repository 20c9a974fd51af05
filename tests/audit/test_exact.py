"""The exact Poisson interval and Cohen's kappa used by the reviewer evidence."""

from __future__ import annotations

import math
import random

import pytest

from audit.exact import cohen_kappa, poisson_cdf, poisson_interval


def poisson_draw(rng: random.Random, mean: float) -> int:
    """One Poisson(mean) draw by Knuth's multiplication method (fine for the small means here)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def coverage(mean: float, alpha: float, draws: int, seed: int) -> float:
    """The share of simulated counts whose interval contains ``mean``."""
    rng = random.Random(seed)
    hits = 0
    for _ in range(draws):
        lower, upper = poisson_interval(poisson_draw(rng, mean), alpha)
        hits += lower <= mean <= upper
    return hits / draws


class TestPoissonCdf:
    """P(X <= k) through the incomplete gamma function."""

    @pytest.mark.parametrize(("k", "mean"), [(0, 0.5), (3, 2.0), (10, 7.5), (40, 55.0), (200, 180.0)])
    def test_matches_the_direct_sum(self, k, mean):
        """The gamma form equals the summed probability mass."""
        direct = math.fsum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k + 1))
        assert poisson_cdf(k, mean) == pytest.approx(direct, rel=1e-9)

    def test_negative_k_is_zero(self):
        """No count is below zero."""
        assert poisson_cdf(-1, 3.0) == 0.0


class TestPoissonInterval:
    """Garwood's exact interval."""

    @pytest.mark.parametrize(
        ("count", "lower", "upper"),
        [(0, 0.0, 3.6889), (1, 0.0253, 5.5716), (10, 4.7954, 18.3904), (100, 81.3640, 121.6268)],
    )
    def test_published_values(self, count, lower, upper):
        """The 95% interval matches the chi-square tables (Garwood 1936)."""
        got = poisson_interval(count)
        assert got == (pytest.approx(lower, abs=1e-4), pytest.approx(upper, abs=1e-4))

    def test_tails_at_the_ends_are_alpha_halves(self):
        """At the lower end P(X >= count) is alpha/2; at the upper end P(X <= count) is alpha/2."""
        lower, upper = poisson_interval(7, alpha=0.1)
        assert 1 - poisson_cdf(6, lower) == pytest.approx(0.05, abs=1e-9)
        assert poisson_cdf(7, upper) == pytest.approx(0.05, abs=1e-9)

    @pytest.mark.parametrize("mean", [0.5, 2.0, 5.0, 12.0, 30.0])
    def test_covers_the_mean_at_least_95_percent(self, mean):
        """Simulated with a fixed seed, the 95% interval contains the true mean at least 94% of the time."""
        assert coverage(mean, 0.05, draws=2000, seed=11) >= 0.94

    def test_the_coverage_check_can_fail(self):
        """A 40% interval (alpha 0.6) fails the same check: the simulation can tell a bad interval."""
        assert coverage(5.0, 0.6, draws=2000, seed=11) < 0.94

    @pytest.mark.parametrize(("count", "alpha"), [(-1, 0.05), (3, 0.0), (3, 1.0)])
    def test_bad_arguments_raise(self, count, alpha):
        """A negative count or an alpha outside (0, 1) is a ValueError, never a silent answer."""
        with pytest.raises(ValueError):
            poisson_interval(count, alpha)


class TestCohenKappa:
    """Agreement of two raters corrected for chance."""

    def test_perfect_agreement_is_one(self):
        """Raters who always agree, on varied labels, have kappa 1."""
        assert cohen_kappa([("a", "a"), ("b", "b"), ("a", "a")]) == 1.0

    def test_textbook_value(self):
        """50 items, p_o 0.7, p_e 0.5: kappa 0.4."""
        pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
        assert cohen_kappa(pairs) == pytest.approx(0.4)

    def test_systematic_disagreement_is_negative(self):
        """Raters who always disagree have kappa below zero."""
        assert cohen_kappa([("a", "b"), ("b", "a")] * 5) == pytest.approx(-1.0)

    def test_independent_raters_are_near_zero(self):
        """Two raters labelling at random (fixed seed) have kappa near 0."""
        rng = random.Random(5)
        pairs = [(rng.choice("ab"), rng.choice("ab")) for _ in range(4000)]
        assert abs(cohen_kappa(pairs)) < 0.05

    def test_undefined_cases_are_none(self):
        """No pairs, or both raters always giving the same single label, leave kappa undefined."""
        assert (cohen_kappa([]), cohen_kappa([("a", "a")] * 4)) == (None, None)
