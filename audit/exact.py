"""Small exact statistics for reviewer evidence: the Poisson interval of a count, and Cohen's kappa.

Pure: stdlib only (no scipy in the audit library). The Poisson interval is Garwood's exact
(central) interval, found by bisection on the Poisson tail probabilities, which are computed
through the regularized incomplete gamma function; it covers the true mean at least ``1 - alpha``
of the time for every mean (``tests/audit/test_exact.py`` checks that by simulation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence

__all__ = ["cohen_kappa", "poisson_cdf", "poisson_interval"]

_EPS = 1e-15
_ITER = 10_000


def _lower_gamma_series(a: float, x: float) -> float:
    """P(a, x), the regularized lower incomplete gamma, by its power series (good for x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(_ITER):
        n += 1.0
        term *= x / n
        total += term
        if abs(term) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_gamma_fraction(a: float, x: float) -> float:
    """Q(a, x), the regularized upper incomplete gamma, by its continued fraction (x >= a + 1)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _upper_gamma(a: float, x: float) -> float:
    """Q(a, x) = 1 - P(a, x) for a > 0, x >= 0."""
    if x <= 0:
        return 1.0
    if x < a + 1.0:
        return 1.0 - _lower_gamma_series(a, x)
    return _upper_gamma_fraction(a, x)


def poisson_cdf(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean): Q(k + 1, mean)."""
    if k < 0:
        return 0.0
    return _upper_gamma(k + 1.0, mean)


def _solve(f: Callable[[float], float], target: float, hi: float) -> float:
    """The mean at which the decreasing-in-mean tail ``f`` equals ``target``, by bisection."""
    lo = 0.0
    while f(hi) > target:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


def poisson_interval(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Garwood's exact two-sided ``1 - alpha`` interval for a Poisson mean, given one observed count.

    Lower end: the mean at which P(X >= count) = alpha/2 (0 when count is 0). Upper end: the
    mean at which P(X <= count) = alpha/2. Raises ``ValueError`` for a negative count or an
    alpha outside (0, 1).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    half = alpha / 2.0
    upper = _solve(lambda m: poisson_cdf(count, m), half, hi=count + 10.0)
    if count == 0:
        return 0.0, upper
    # P(X >= count) = 1 - P(X <= count - 1) increases with the mean: solve its complement.
    lower = _solve(lambda m: poisson_cdf(count - 1, m), 1.0 - half, hi=count + 10.0)
    return lower, upper


def cohen_kappa(pairs: Sequence[tuple[Hashable, Hashable]]) -> float | None:
    """Cohen's kappa of two raters over ``pairs`` of their labels for the same items.

    kappa = (p_o - p_e) / (1 - p_e): observed agreement corrected for the agreement the raters'
    own label shares would give by chance. None when there are no pairs or chance agreement is
    already certain (both raters always gave one and the same label), where kappa is undefined.
    """
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first: dict[Hashable, int] = {}
    second: dict[Hashable, int] = {}
    for a, b in pairs:
        first[a] = first.get(a, 0) + 1
        second[b] = second.get(b, 0) + 1
    chance = sum(first[label] * second.get(label, 0) for label in first) / (n * n)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1.0 - chance)
