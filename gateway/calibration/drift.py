"""Drift of the confidence distribution, override rates against expectation, and a time-uniform alarm.

- PSI over ten bins cut at the reference window's deciles (0.1 is a common "look" level, 0.25
  "act"), and the two-sample Kolmogorov-Smirnov statistic with its p-value.
- Overrides observed among reviewed cases against the count the model's own confidence
  predicts (sum of ``1 - confidence``), with Garwood's exact Poisson interval on the observed count.
- The audited error of automatic decisions, watched as labels arrive: after the ``m``-th audit
  label the Clopper-Pearson lower bound is taken at level ``delta / (m (m + 1))``. These levels
  sum to ``delta``, so the bound is valid at every ``m`` at once (a union bound over time,
  a simple confidence sequence; Howard et al. 2021 give tighter ones). The alarm is raised while
  the current lower bound is above the certificate's alpha, and cleared when it no longer is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from gateway.calibration.bounds import cp_lower, poisson_interval

__all__ = ["alarm", "ks", "override_check", "psi"]

F = NDArray[np.float64]


def psi(reference: F, current: F, bins: int = 10, eps: float = 1e-4) -> float | None:
    """Population stability index of ``current`` against ``reference`` (None if either is empty)."""
    if len(reference) == 0 or len(current) == 0:
        return None
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    r = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1) / len(reference)
    c = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1) / len(current)
    r, c = np.maximum(r, eps), np.maximum(c, eps)
    return float(((c - r) * np.log(c / r)).sum())


def ks(reference: F, current: F) -> dict[str, float] | None:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (None if either sample is empty)."""
    if len(reference) == 0 or len(current) == 0:
        return None
    res = stats.ks_2samp(reference, current)
    return {"statistic": float(res.statistic), "pvalue": float(res.pvalue)}


def override_check(confidence: F, overridden: F, level: float = 0.95) -> dict[str, Any]:
    """Observed overrides among reviewed cases against ``sum(1 - confidence)``, with Garwood's interval."""
    observed = int(overridden.sum())
    expected = float((1.0 - confidence).sum())
    lo, hi = poisson_interval(observed, level)
    n = len(confidence)
    return {
        "reviewed": n,
        "observed": observed,
        "expected": expected,
        "observed_rate": observed / n if n else None,
        "expected_rate": expected / n if n else None,
        "interval": [lo, hi],
        "level": level,
        "outside": bool(n and not lo <= expected <= hi),
    }


def alarm(errors_in_time_order: F, alpha: float, delta: float) -> dict[str, Any]:
    """The time-uniform lower bound on the audited error after each label, and the alarm state now."""
    e = np.asarray(errors_in_time_order, float)
    m = np.arange(1, len(e) + 1, dtype=float)
    k = np.cumsum(e)
    lower = cp_lower(k, m, delta / (m * (m + 1.0))) if len(e) else np.zeros(0)
    current = float(lower[-1]) if len(lower) else 0.0
    raised = np.flatnonzero(lower > alpha)
    return {
        "audited": len(e),
        "errors": int(k[-1]) if len(k) else 0,
        "observed_rate": float(k[-1] / len(e)) if len(e) else None,
        "lower_bound": current,
        "alpha": alpha,
        "delta": delta,
        "alarm": current > alpha,
        "first_above_at": int(raised[0]) + 1 if len(raised) else None,
    }
