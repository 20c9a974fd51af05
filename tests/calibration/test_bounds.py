"""The exact bounds against scipy's own binomial and Poisson machinery."""

from __future__ import annotations

import numpy as np
from scipy import stats

from gateway.calibration import cp_lower, cp_upper, poisson_interval, stratified_upper
from gateway.calibration.bounds import binomial_pvalue, labels_needed


class TestClopperPearson:
    """One-sided Clopper-Pearson bounds."""

    def test_upper_and_lower_match_scipy_binomtest(self) -> None:
        """At level delta each side equals scipy's exact two-sided interval at 1 - 2 delta."""
        for k, n in [(0, 10), (3, 50), (17, 200), (99, 100), (250, 1000)]:
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.8, method="exact")
            assert np.isclose(cp_upper(k, n, 0.1)[()], ci.high, atol=1e-9)
            assert np.isclose(cp_lower(k, n, 0.1)[()], ci.low, atol=1e-9)

    def test_upper_bound_below_alpha_iff_binomial_pvalue_below_delta(self) -> None:
        """The bound test and the exact p-value P(Bin(n, alpha) <= k) <= delta are the same test."""
        alpha, delta = 0.05, 0.1
        for n in (20, 60, 150, 400):
            for k in range(0, 30):
                if k > n:
                    continue
                assert (cp_upper(k, n, delta)[()] <= alpha) == (binomial_pvalue(k, n, alpha)[()] <= delta)

    def test_no_labels_bound_is_one(self) -> None:
        """With n = 0 nothing is known: the upper bound is 1, the lower bound 0."""
        assert cp_upper(0, 0, 0.1)[()] == 1.0 and cp_lower(0, 0, 0.1)[()] == 0.0


class TestPoisson:
    """Garwood's exact Poisson interval."""

    def test_matches_the_chi_square_form(self) -> None:
        """The interval equals chi2(a/2, 2k)/2 .. chi2(1-a/2, 2k+2)/2."""
        for k in (0, 1, 5, 40):
            lo, hi = poisson_interval(k, 0.95)
            want_lo = 0.0 if k == 0 else stats.chi2.ppf(0.025, 2 * k) / 2
            assert np.isclose(lo, want_lo) and np.isclose(hi, stats.chi2.ppf(0.975, 2 * k + 2) / 2)


class TestStratified:
    """The stratified bound over inclusion-probability strata."""

    def test_one_stratum_is_clopper_pearson(self) -> None:
        """With a single stratum the bound is the plain Clopper-Pearson bound at delta."""
        got = stratified_upper(np.array([[500.0]]), np.array([[500.0]]), np.array([[12.0]]), 0.1)
        assert np.isclose(got[0], cp_upper(12, 500, 0.1)[()])

    def test_unlabelled_stratum_counts_as_all_errors(self) -> None:
        """A stratum with decisions but no labels adds its whole weight: never assumed error-free."""
        got = stratified_upper(np.array([[100.0], [100.0]]), np.array([[100.0], [0.0]]), np.array([[0.0], [0.0]]), 0.1)
        assert got[0] >= 0.5

    def test_labels_needed_reaches_the_target(self) -> None:
        """The returned count certifies the target, and one fewer does not."""
        n = labels_needed(0.01, 0.05, 0.05)
        assert n is not None
        assert cp_upper(np.floor(0.01 * n), n, 0.05)[()] <= 0.05
        assert cp_upper(np.floor(0.01 * (n - 1)), n - 1, 0.05)[()] > 0.05

    def test_labels_needed_is_none_when_the_rate_is_too_high(self) -> None:
        """An observed rate at or above the target can never be certified."""
        assert labels_needed(0.06, 0.05, 0.05) is None
