"""Threshold certificates, drift and calibration quality: the statistics, pure (numpy and scipy only).

    data = Labelled(conf, err, pi, pop_conf, pop_pi)
    cert = build(data, grid(0.5, 0.995, 0.005), alpha=0.05, delta=0.1, meta={...})

``bounds`` holds the exact binomial/Poisson bounds, ``ltt`` the fixed-sequence walk,
``certificate`` the certificate, ``quality`` ECE/Brier/reliability, ``drift`` PSI/KS/alarms.
"""

from gateway.calibration.bounds import cp_lower, cp_upper, poisson_interval, stratified_upper
from gateway.calibration.certificate import build, digest, render_text
from gateway.calibration.drift import alarm, ks, override_check, psi
from gateway.calibration.ltt import Labelled, TierResult, certify, grid, naive_upper, need
from gateway.calibration.quality import quality

__all__ = [
    "Labelled",
    "TierResult",
    "alarm",
    "build",
    "certify",
    "cp_lower",
    "cp_upper",
    "digest",
    "grid",
    "ks",
    "naive_upper",
    "need",
    "override_check",
    "poisson_interval",
    "psi",
    "quality",
    "render_text",
    "stratified_upper",
]
