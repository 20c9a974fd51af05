"""An in-process scikit-learn model for the ``python`` backend, trained on a dataset sklearn ships."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

__all__ = ["FEATURES", "LABELS", "claims", "predict", "predict_async"]

FEATURES = ("radius", "texture", "perimeter", "area")
LABELS = ("malignant", "benign")


@functools.cache
def _model() -> Any:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression

    data = load_breast_cancer()
    return LogisticRegression(max_iter=5000).fit(data.data[:, :4], data.target)


def predict(features: Mapping[str, float]) -> dict[str, Any]:
    """The label with the higher probability, that probability, and both as scores."""
    probs = _model().predict_proba([[features[f] for f in FEATURES]])[0]
    best = int(probs.argmax())
    return {
        "outcome": LABELS[best],
        "confidence": float(probs[best]),
        "version": "1",
        "scores": dict(zip(LABELS, map(float, probs), strict=True)),
    }


async def predict_async(features: Mapping[str, float]) -> dict[str, Any]:
    """The same prediction from an async callable."""
    return predict(features)


def claims(features: Mapping[str, float]) -> dict[str, Any]:
    """A stand-in claims model for the gateway tests: small claims approved with high confidence."""
    small = features["amount"] < 1000
    return {"outcome": "approve" if small else "partial", "confidence": 0.97 if small else 0.6, "version": "1"}
