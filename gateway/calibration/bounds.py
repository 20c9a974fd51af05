"""Exact binomial and Poisson bounds, and the stratified bound for labels drawn with probability pi < 1.

Everything here is a pure function of counts. The binomial bounds are Clopper-Pearson (1934)
through the beta quantile; the Poisson interval is Garwood's (1936) through the gamma quantile.

The stratified bound (used for labels that exist only where humans looked): a decision in
stratum ``h`` (one inclusion probability ``pi_h``) is labelled independently with probability
``pi_h``, so given the ``n_h`` labelled rows, their errors are ``Binomial(n_h, p_h)``. The error
rate of the whole band is ``sum_h w_h p_h`` with ``w_h = N_h / N`` (``N_h`` decisions in the
stratum, labelled or not). With ``delta`` split evenly over the ``H`` non-empty strata,

    U = sum_h w_h * CP_upper(k_h, n_h, delta / H)

is at least the band's error rate with probability at least ``1 - delta`` (a union bound over
strata; Bonferroni). A stratum with decisions but no labels contributes its full weight
(``CP_upper = 1``): it is never assumed error-free. This is conservative, and exact in the
sense of using no normal approximation; see Cochran, *Sampling Techniques* (1977), ch. 5, for
stratified estimation, and Angelopoulos, Bates et al., *Learn then Test* (2021), for why a
valid upper bound per threshold is all that fixed-sequence testing needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "binomial_pvalue",
    "cp_lower",
    "cp_upper",
    "labels_needed",
    "poisson_interval",
    "stratified_upper",
]

F = NDArray[np.float64]


def cp_upper(k: ArrayLike, n: ArrayLike, delta: ArrayLike) -> F:
    """One-sided Clopper-Pearson upper bound: P(p <= bound) >= 1 - delta. ``n == 0`` gives 1."""
    k_, n_, d_ = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(delta, float))
    out = np.ones(k_.shape)
    ok = (n_ > 0) & (k_ < n_)
    out[ok] = stats.beta.ppf(1.0 - d_[ok], k_[ok] + 1.0, n_[ok] - k_[ok])
    return out


def cp_lower(k: ArrayLike, n: ArrayLike, delta: ArrayLike) -> F:
    """One-sided Clopper-Pearson lower bound: P(p >= bound) >= 1 - delta. ``k == 0`` gives 0."""
    k_, n_, d_ = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float), np.asarray(delta, float))
    out = np.zeros(k_.shape)
    ok = (n_ > 0) & (k_ > 0)
    out[ok] = stats.beta.ppf(d_[ok], k_[ok], n_[ok] - k_[ok] + 1.0)
    return out


def binomial_pvalue(k: ArrayLike, n: ArrayLike, alpha: float) -> F:
    """The exact p-value of ``H0: p > alpha`` after ``k`` errors in ``n``: ``P(Bin(n, alpha) <= k)``."""
    k_, n_ = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float))
    out = np.ones(k_.shape)
    ok = n_ > 0
    out[ok] = stats.binom.cdf(k_[ok], n_[ok], alpha)
    return out


def poisson_interval(k: int, confidence: float) -> tuple[float, float]:
    """Garwood's exact two-sided interval for a Poisson mean after observing ``k`` events."""
    tail = (1.0 - confidence) / 2.0
    lo = 0.0 if k == 0 else float(stats.gamma.ppf(tail, k))
    hi = float(stats.gamma.ppf(1.0 - tail, k + 1))
    return lo, hi


def stratified_upper(N: F, n: F, k: F, delta: float) -> F:
    """The stratified bound for each column: arrays shaped ``(strata, points)``; see the module docstring.

    ``N`` is the number of decisions per stratum (weights), ``n`` the labelled ones, ``k`` the
    errors among them. A column with no decisions at all has bound 0 (an empty band has no errors).
    """
    N, n, k = (np.atleast_2d(np.asarray(a, float)) for a in (N, n, k))
    total = N.sum(axis=0)
    strata = (N > 0).sum(axis=0)
    per = np.where(strata > 0, delta / np.maximum(strata, 1), delta)
    u = cp_upper(k, n, np.broadcast_to(per, k.shape))
    w = np.divide(N, total, out=np.zeros_like(N), where=total > 0)
    return (w * u).sum(axis=0)


def labels_needed(rate: float, target: float, delta: float, cap: int = 10_000_000) -> int | None:
    """The fewest labels ``n`` with ``CP_upper(round(rate * n), n, delta) <= target``, or None.

    ``rate`` is the error rate the new labels are assumed to show (the one observed so far);
    None when no number of labels up to ``cap`` would do (the rate is at or above the target).
    """
    if target <= rate or target <= 0:
        return None

    def ok(m: int) -> bool:
        return float(cp_upper(np.floor(rate * m), m, delta)[()]) <= target

    hi = 1
    while not ok(hi):
        hi *= 2
        if hi > cap:
            return None
    lo = hi // 2
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
