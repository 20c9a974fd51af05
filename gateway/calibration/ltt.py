"""Learn-then-Test over a threshold grid fixed before any label is read, strictest first.

A threshold ``t`` means "decide automatically iff confidence >= t". Its hypothesis is
``H_t: error rate among decisions with confidence >= t exceeds alpha``. Walking the grid from
the highest threshold down, each ``H_t`` is rejected when the exact upper bound at level
``delta`` is at most ``alpha``; the walk stops at the first threshold it cannot reject
(fixed-sequence testing: every rejection is then valid together with probability >= 1 - delta,
Angelopoulos, Bates et al. 2021, section 3). A threshold whose bound would exceed alpha even
with zero errors can never be rejected: it is skipped, not counted as a failure. Whether a
point is skipped depends on counts of rows, never on labels, so skipping keeps the guarantee.

A second tier (the boundary between two review queues) is certified the same way on its own
share of delta, for the error rate among decisions with confidence >= its threshold; the two
guarantees hold together with probability >= 1 - (delta_1 + delta_2) by a union bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gateway.calibration.bounds import binomial_pvalue, cp_upper, labels_needed, stratified_upper

__all__ = ["Labelled", "Need", "TierResult", "certify", "grid", "naive_upper", "need"]

F = NDArray[np.float64]


def grid(start: float, stop: float, step: float) -> F:
    """The candidate thresholds ``start, start+step, ..., <= stop``, rounded to 6 places."""
    count = int(np.floor((stop - start) / step + 1e-9)) + 1
    return np.round(start + step * np.arange(count), 6)


@dataclass(frozen=True)
class Labelled:
    """What the certificate is computed from, as columns.

    ``conf``/``err``/``pi``: the labelled rows (model confidence, 1 if the human label says the
    proposal was wrong, the row's inclusion probability). ``pop_conf``/``pop_pi``: every decision
    in the window, labelled or not, when the source knows them (the database); None for a file,
    where each stratum's size is estimated as ``n_h / pi_h``.
    """

    conf: F
    err: F
    pi: F
    pop_conf: F | None = None
    pop_pi: F | None = None

    def counts(self, thresholds: F) -> tuple[F, F, F, F]:
        """Per stratum and threshold: decisions N, labelled n, errors k; and the strata's pi."""
        strata = np.unique(self.pi if self.pop_pi is None else np.concatenate([self.pi, self.pop_pi]))
        shape = (len(strata), len(thresholds))
        N, n, k = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        for i, p in enumerate(strata):
            sel = self.pi == p
            c = self.conf[sel]
            order = np.argsort(c, kind="stable")
            c, e = c[order], self.err[sel][order]
            at = np.searchsorted(c, thresholds, side="left")
            tail_err = np.concatenate([np.cumsum(e[::-1])[::-1], [0.0]])
            n[i] = len(c) - at
            k[i] = tail_err[at]
            if self.pop_conf is None:
                N[i] = n[i] / p
            else:
                pc = np.sort(self.pop_conf[self.pop_pi == p])
                N[i] = len(pc) - np.searchsorted(pc, thresholds, side="left")
        return N, n, k, strata

    def automation(self, threshold: float) -> float:
        """The share of decisions with confidence >= ``threshold`` (estimated for a file)."""
        if self.pop_conf is not None:
            return float(np.mean(self.pop_conf >= threshold)) if len(self.pop_conf) else 0.0
        w = 1.0 / self.pi
        return float(w[self.conf >= threshold].sum() / w.sum()) if len(w) else 0.0


@dataclass(frozen=True)
class Need:
    """How many more audited automatic decisions a threshold would need (None: no number would do)."""

    threshold: float
    audited: int
    errors: int
    needed: int | None
    audit_rate: float
    automatic: float


@dataclass(frozen=True)
class TierResult:
    """The outcome of one fixed-sequence walk."""

    alpha: float
    delta: float
    threshold: float | None
    upper: float | None
    n: int
    errors: int
    status: list[str]
    bounds: F
    pvalues: F
    N: F
    n_per: F
    k_per: F
    strata: F
    grid_values: F


def certify(data: Labelled, thresholds: F, alpha: float, delta: float) -> TierResult:
    """Fixed-sequence LTT over ``thresholds`` (any order given; walked from the highest)."""
    order = np.argsort(-thresholds, kind="stable")
    ts = thresholds[order]
    N, n, k, strata = data.counts(ts)
    upper = stratified_upper(N, n, k, delta)
    best_case = stratified_upper(N, n, np.zeros_like(k), delta)
    n_all, k_all = n.sum(axis=0), k.sum(axis=0)
    pvals = binomial_pvalue(k_all, n_all, alpha)
    status: list[str] = []
    chosen: int | None = None
    stopped = False
    for i in range(len(ts)):
        if stopped:
            status.append("not tested")
        elif N[:, i].sum() == 0 or best_case[i] > alpha:
            status.append("skipped: too few labels")
        elif upper[i] <= alpha:
            status.append("certified")
            chosen = i
        else:
            status.append("failed: stop")
            stopped = True
    return TierResult(
        alpha=alpha,
        delta=delta,
        threshold=None if chosen is None else float(ts[chosen]),
        upper=None if chosen is None else float(upper[chosen]),
        n=0 if chosen is None else int(n_all[chosen]),
        errors=0 if chosen is None else int(k_all[chosen]),
        status=status,
        bounds=upper,
        pvalues=pvals,
        N=N,
        n_per=n,
        k_per=k,
        strata=strata,
        grid_values=ts,
    )


def need(result: TierResult, threshold: float) -> Need:
    """What certifying ``threshold`` would take: more labels in its sparsest-sampled stratum.

    The other strata keep their bounds; the new labels are assumed to show the error rate seen
    so far in that stratum. ``needed`` is None when no number of labels would do.
    """
    i = int(np.argmin(np.abs(result.grid_values - threshold)))
    N, n, k, strata = result.N[:, i], result.n_per[:, i], result.k_per[:, i], result.strata
    live = N > 0
    H = max(int(live.sum()), 1)
    h = int(np.argmin(np.where(live, strata, np.inf)))
    total = float(N.sum())
    u = cp_upper(k, n, result.delta / H)
    w = N / total if total else np.zeros_like(N)
    rest = float(sum(w[j] * u[j] for j in range(len(N)) if j != h and live[j]))
    target = (result.alpha - rest) / w[h] if w[h] > 0 else 0.0
    rate = k[h] / n[h] if n[h] else 0.0
    needed = labels_needed(rate, target, result.delta / H)
    return Need(
        threshold=float(result.grid_values[i]),
        audited=int(n[h]),
        errors=int(k[h]),
        needed=needed,
        audit_rate=float(strata[h]),
        automatic=float(N[h]),
    )


def naive_upper(data: Labelled, thresholds: F, delta: float) -> F:
    """NOT VALID, kept to show why: Clopper-Pearson on 1/pi-weighted counts, as if each weight were a label."""
    from scipy import stats

    w = 1.0 / data.pi
    order = np.argsort(data.conf, kind="stable")
    c, w, we = data.conf[order], w[order], (w * data.err)[order]
    tail_w = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])
    tail_k = np.concatenate([np.cumsum(we[::-1])[::-1], [0.0]])
    at = np.searchsorted(c, thresholds, side="left")
    n_w, k_w = tail_w[at], tail_k[at]
    out = np.ones(len(thresholds))
    ok = (n_w > 0) & (k_w < n_w)
    out[ok] = stats.beta.ppf(1.0 - delta, k_w[ok] + 1.0, n_w[ok] - k_w[ok])
    return out
