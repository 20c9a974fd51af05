"""The certificate's promise checked by simulation with fixed seeds: it holds, and the naive one does not.

Monte-Carlo error: over T trials a procedure with true violation rate delta shows
delta + 3 * sqrt(delta (1 - delta) / T) at most about 0.1% of the time; that is the tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from gateway.calibration import Labelled, certify, grid, naive_upper

ALPHA, DELTA = 0.05, 0.1
GRID = grid(0.5, 0.995, 0.005)
LEVELS = np.round(np.arange(0.5, 1.0, 0.005), 3)
P_LEVEL = np.exp(12 * LEVELS) / np.exp(12 * LEVELS).sum()
ERR = np.clip(1.5 * (1 - LEVELS), 0, 1)  # the model is over-confident: true error 1.5 x (1 - confidence)


def _tolerance(trials: int) -> float:
    return DELTA + 3 * np.sqrt(DELTA * (1 - DELTA) / trials)


def _true_risk(t: float) -> float:
    sel = LEVELS >= t
    return float((P_LEVEL[sel] * ERR[sel]).sum() / P_LEVEL[sel].sum()) if sel.any() else 0.0


def _deployment(rng: np.random.Generator, n: int = 4000, audit: float = 0.2) -> tuple[Labelled, Labelled]:
    """One simulated window: held (<= 0.92) all reviewed, automatic labelled by 20% audits only."""
    c = rng.choice(LEVELS, size=n, p=P_LEVEL)
    e = (rng.random(n) < ERR[np.searchsorted(LEVELS, c)]).astype(float)
    pi = np.where(c > 0.92, audit, 1.0)
    lab = rng.random(n) < pi
    return Labelled(c[lab], e[lab], pi[lab], c, pi), Labelled(c[lab], e[lab], pi[lab])


def _naive_threshold(data: Labelled) -> float | None:
    ts = GRID[::-1]
    chosen = None
    for t, u in zip(ts, naive_upper(data, ts, DELTA), strict=True):
        if u > ALPHA:
            break
        chosen = float(t)
    return chosen


@pytest.fixture(scope="module")
def deployment_trials() -> list[tuple[float | None, float | None]]:
    """300 simulated windows (seed 1): our certified threshold and the naive one in each."""
    rng = np.random.default_rng(1)
    out = []
    for _ in range(300):
        full, file_like = _deployment(rng)
        out.append((certify(full, GRID, ALPHA, DELTA).threshold, _naive_threshold(file_like)))
    return out


class TestSimulatedDeployment:
    """A deployment whose automatic band is labelled only by 20% audits."""

    def test_certified_bound_holds_in_at_least_1_minus_delta(self, deployment_trials: list) -> None:
        """The true error above the certified threshold exceeds alpha in at most delta of windows."""
        bad = sum(t is not None and _true_risk(t) > ALPHA for t, _ in deployment_trials)
        assert bad / len(deployment_trials) <= _tolerance(len(deployment_trials))

    def test_it_certifies_something_often(self, deployment_trials: list) -> None:
        """The bound is not vacuous: most windows certify a threshold."""
        assert sum(t is not None for t, _ in deployment_trials) >= 0.5 * len(deployment_trials)

    def test_naive_weighted_bound_fails_the_same_test(self, deployment_trials: list) -> None:
        """Clopper-Pearson on 1/pi-weighted counts violates alpha far more often than delta."""
        bad = sum(n is not None and _true_risk(n) > ALPHA for _, n in deployment_trials)
        assert bad / len(deployment_trials) > _tolerance(len(deployment_trials))


@pytest.fixture(scope="module")
def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    """Confidence and error of a logistic regression on scikit-learn's breast-cancer data (held-out pool)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_pool, y_tr, y_pool = train_test_split(X, y, test_size=0.6, random_state=0, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=1000)).fit(X_tr, y_tr)
    proba = clf.predict_proba(X_pool)
    conf = proba.max(axis=1)
    err = (proba.argmax(axis=1) != y_pool).astype(float)
    return conf, err


class TestBreastCancer:
    """Repeated calibration draws from a fixed pool, whose error is then the true error."""

    def test_certified_bound_holds_in_at_least_1_minus_delta(self, breast_cancer: tuple) -> None:
        """Over 400 draws (seed 2) the pool's error above the certified threshold exceeds alpha in <= delta."""
        conf, err = breast_cancer
        rng = np.random.default_rng(2)
        bad, certified, trials = 0, 0, 400
        for _ in range(trials):
            i = rng.integers(0, len(conf), size=len(conf))
            t = certify(Labelled(conf[i], err[i], np.ones(len(i))), GRID, ALPHA, DELTA).threshold
            if t is not None:
                certified += 1
                bad += err[conf >= t].mean() > ALPHA
        assert bad / trials <= _tolerance(trials)
        assert certified >= trials // 2


class TestMapieCrossCheck:
    """MAPIE 1.6's BinaryClassificationController on the same single-threshold, fully labelled case."""

    def test_our_exact_pvalues_are_never_looser_than_mapies(self, breast_cancer: tuple) -> None:
        """MAPIE's Hoeffding-Bentkus p-values bound our exact binomial ones from above at every threshold."""
        from mapie.risk_control import BinaryClassificationController, precision

        conf, err = breast_cancer
        correct = 1 - err.astype(int)
        scores = np.column_stack([1 - conf, conf])
        ts = GRID[::-1]
        ctl = BinaryClassificationController(
            predict_function=lambda X: scores[X[:, 0].astype(int)],
            risk=precision,
            target_level=1 - ALPHA,
            confidence_level=1 - DELTA,
            list_predict_params=ts,
            fwer_method="fixed_sequence",
        )
        ctl.calibrate(np.arange(len(conf)).reshape(-1, 1), correct)
        ours = certify(Labelled(conf, err, np.ones(len(conf))), ts, ALPHA, DELTA)
        theirs = np.asarray(ctl.p_values).reshape(len(ts), -1)[:, 0]
        mine = ours.pvalues
        live = ours.n_per.sum(axis=0) > 0
        assert np.all(mine[live] <= theirs[live] + 1e-12)
        valid = np.asarray(ctl.valid_predict_params, float).ravel()
        if len(valid):
            assert ours.threshold is not None and ours.threshold <= valid.min() + 1e-9
