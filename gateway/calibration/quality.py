"""How well confidence matches accuracy: expected calibration error, Brier score, reliability bins.

These are estimates, not bounds: each labelled row counts with its weight ``1/pi``, so the
automatic band is seen at its true share of traffic rather than at its audit rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["quality"]


def quality(
    conf: NDArray[np.float64], err: NDArray[np.float64], pi: NDArray[np.float64], bins: int = 10
) -> dict[str, Any]:
    """ECE over ``bins`` equal-width confidence bins, the Brier score, and the reliability table."""
    w = 1.0 / pi
    correct = 1.0 - err
    total = float(w.sum())
    if total <= 0:
        return {"n": 0, "ece": None, "brier": None, "bins": []}
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    table: list[dict[str, Any]] = []
    ece = 0.0
    for b in range(bins):
        sel = idx == b
        wb = float(w[sel].sum())
        if wb == 0:
            continue
        mean_conf = float((w[sel] * conf[sel]).sum() / wb)
        accuracy = float((w[sel] * correct[sel]).sum() / wb)
        ece += wb / total * abs(accuracy - mean_conf)
        table.append(
            {
                "lo": b / bins,
                "hi": (b + 1) / bins,
                "n": int(sel.sum()),
                "weight": wb,
                "mean_confidence": mean_conf,
                "accuracy": accuracy,
            }
        )
    brier = float((w * (conf - correct) ** 2).sum() / total)
    return {"n": len(conf), "ece": ece, "brier": brier, "bins": table}
