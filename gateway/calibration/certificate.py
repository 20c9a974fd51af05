"""The certificate: what was certified, on which data, and what it promises, as JSON and as text.

``threshold`` is the certified auto threshold (decide automatically iff confidence >=
threshold) or None. The JSON is canonical (sorted keys), so its sha256 can be cited by a policy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gateway.calibration.ltt import Labelled, TierResult, certify, need

__all__ = ["build", "digest", "render_text"]

PROMISE = (
    "With probability at least 1 - delta over the labelled history, the error rate of the model's "
    "proposals among decisions with confidence >= threshold is at most alpha, for decisions drawn "
    "like those in the data window (same decision type, model version and input mix)."
)
LIMITS = (
    "It does not promise anything for a new model version, a changed input mix (watch "
    "`signoff monitor`), another decision type, or a single decision; it bounds a rate, not an outcome."
)


def _tier(name: str, res: TierResult, data: Labelled, current: float | None) -> dict[str, Any]:
    steps = [
        {
            "threshold": float(t),
            "decisions": float(res.N[:, i].sum()),
            "labelled": int(res.n_per[:, i].sum()),
            "errors": int(res.k_per[:, i].sum()),
            "upper_bound": float(res.bounds[i]),
            "p_value_fully_labelled": float(res.pvalues[i]),
            "status": res.status[i],
        }
        for i, t in enumerate(res.grid_values)
    ]
    out: dict[str, Any] = {
        "tier": name,
        "alpha": res.alpha,
        "delta": res.delta,
        "threshold": res.threshold,
        "n": res.n,
        "errors": res.errors,
        "upper_bound": res.upper,
        "expected_automation_rate": None if res.threshold is None else data.automation(res.threshold),
        "steps": steps,
    }
    if res.threshold is not None:
        i = int(np.flatnonzero(res.grid_values == res.threshold)[0])
        out["strata"] = [
            {
                "pi": float(p),
                "decisions": float(res.N[h, i]),
                "labelled": int(res.n_per[h, i]),
                "errors": int(res.k_per[h, i]),
            }
            for h, p in enumerate(res.strata)
            if res.N[h, i] > 0
        ]
    else:
        ref = current if current is not None else float(res.grid_values[len(res.grid_values) // 4])
        nd = need(res, ref)
        out["missing"] = {
            "at_threshold": nd.threshold,
            "audit_rate": nd.audit_rate,
            "audited_so_far": nd.audited,
            "errors_so_far": nd.errors,
            "audited_needed": nd.needed,
            "more_audited_needed": None if nd.needed is None else max(nd.needed - nd.audited, 0),
            "more_decisions_at_this_audit_rate": None
            if nd.needed is None or nd.audit_rate <= 0
            else int(np.ceil(max(nd.needed - nd.audited, 0) / nd.audit_rate)),
            "audit_rate_for_this_window": None
            if nd.needed is None or nd.automatic <= 0
            else min(1.0, nd.needed / nd.automatic),
        }
    return out


def build(
    data: Labelled,
    grid: np.ndarray,
    *,
    alpha: float,
    delta: float,
    meta: Mapping[str, Any],
    second_alpha: float | None = None,
    delta_split: float = 0.5,
    current: Sequence[float | None] = (None, None),
) -> dict[str, Any]:
    """Certify the auto tier (and a second band when ``second_alpha`` is given), with delta split."""
    d1 = delta if second_alpha is None else delta * delta_split
    tiers = [_tier("auto", certify(data, grid, alpha, d1), data, current[0])]
    if second_alpha is not None:
        res2 = certify(data, grid, second_alpha, delta - d1)
        t2 = _tier("second_band", res2, data, current[1])
        t2["meaning"] = (
            "error rate among decisions with confidence >= this boundary (the automatic "
            "band and the band above the senior queue together) is at most its alpha"
        )
        tiers.append(t2)
    spec = grid.tolist()
    return {
        "kind": "signoff.threshold_certificate/v1",
        "threshold": tiers[0]["threshold"],
        "certified": tiers[0]["threshold"] is not None,
        "alpha": alpha,
        "delta": delta,
        "delta_split": None if second_alpha is None else {"auto": d1, "second_band": delta - d1},
        "n": tiers[0]["n"],
        "errors": tiers[0]["errors"],
        "upper_bound": tiers[0]["upper_bound"],
        "expected_automation_rate": tiers[0]["expected_automation_rate"],
        "grid": {
            "first": spec[0],
            "last": spec[-1],
            "points": len(spec),
            "order": "strictest first",
            "fixed_before_labels": True,
        },
        "method": (
            "Learn-then-Test, fixed-sequence over the grid; per threshold an exact stratified "
            "Clopper-Pearson bound over inclusion-probability strata, delta split evenly over strata"
        ),
        **meta,
        "tiers": tiers,
        "promise": PROMISE,
        "does_not_promise": LIMITS,
    }


def digest(cert: Mapping[str, Any]) -> str:
    """sha256 of the certificate's canonical JSON."""
    return hashlib.sha256(json.dumps(cert, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def render_text(cert: Mapping[str, Any]) -> str:
    """The certificate as a few lines a compliance officer can read."""
    lines = [
        f"threshold certificate for {cert['decision_type']} ({cert['source']})",
        f"  window:   {cert['window']['since']} to {cert['window']['until']}",
        "  policy:   "
        + (
            ", ".join(
                f"{p['name']} v{p['version']}" + (f" sha256:{p['digest'][:12]}" if p["digest"] else "")
                for p in cert["policies"]
            )
            or "-"
        ),
        "  model:    " + ", ".join(cert["models"]),
        f"  grid:     {cert['grid']['points']} thresholds {cert['grid']['first']}..{cert['grid']['last']}, "
        "strictest first, fixed before labels were read",
        f"  labels:   {cert['labels']['rows']} labelled rows ({cert['labels']['basis']})",
    ]
    for t in cert["tiers"]:
        head = "auto threshold" if t["tier"] == "auto" else "second band"
        if t["threshold"] is not None:
            lines.append(
                f"  {head}: CERTIFIED confidence >= {t['threshold']}: error <= {t['alpha']} with "
                f"probability >= {1 - t['delta']:.4g} (upper bound {t['upper_bound']:.4f}; "
                f"{t['errors']} errors in {t['n']} labelled)"
            )
            if t["tier"] == "auto":
                lines.append(f"    expected automation rate {_pct(t['expected_automation_rate'])}")
                lines.append(
                    "    strata: "
                    + "; ".join(
                        f"pi={s['pi']:g}: {s['labelled']} labelled of {s['decisions']:.0f}, {s['errors']} errors"
                        for s in t.get("strata", [])
                    )
                )
        else:
            m = t["missing"]
            lines.append(f"  {head}: NOTHING CERTIFIED at alpha {t['alpha']}, delta {t['delta']:.4g}")
            if m["audited_needed"] is None:
                lines.append(
                    f"    at confidence >= {m['at_threshold']}: {m['errors_so_far']} errors in "
                    f"{m['audited_so_far']} labels at pi={m['audit_rate']:g} is too high for alpha; "
                    "more labels will not certify it"
                )
            else:
                lines.append(
                    f"    at confidence >= {m['at_threshold']}: {m['more_audited_needed']} more audited "
                    f"decisions needed (pi={m['audit_rate']:g}: about "
                    f"{m['more_decisions_at_this_audit_rate']} more automatic decisions), or an audit "
                    f"rate of {_pct(m['audit_rate_for_this_window'])} over a window like this one"
                )
    lines.append(f"  promise:  {cert['promise']}")
    lines.append(f"  not:      {cert['does_not_promise']}")
    return "\n".join(lines)
