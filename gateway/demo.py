"""The seed's insurance day as data: synthetic claims and a calibrated model, so the demo's figures mean something.

Pure: stdlib only, no I/O. Every claim is drawn from its own ``random.Random`` seeded with the
run seed and the claim's index, so any claim can be rebuilt from its request id alone; this
lets a demo run sign off tasks an interrupted earlier run left in the queues.

The model's confidence is a two-part mixture: routine claims (81%) with confidence near 0.975,
and unusual ones (19%) near 0.74. The proposal is right with probability equal to its
confidence, so the model is calibrated by construction. With 3% of amounts at $50,000 or more
and the routing thresholds of ``policies/claims-triage.yaml``, the mixture implies
(numerically integrated):

    route   share   reviewers override
    auto    78.3%   (2.5% wrong, seen only through the 2% audit sample)
    junior  14.9%   24.0% of these
    senior   6.7%   (low confidence ~33%, large claims ~7%)

which is 23.2% overridden among the 21.7% of claims a person reviews: the seed's 78/15/7 and 23%.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AUTO_ABOVE",
    "CLAIM_TYPES",
    "Claim",
    "HARD_SHARE",
    "HIGH_VALUE",
    "MODEL",
    "MODEL_VERSION",
    "OUTCOMES",
    "ReviewerVerdict",
    "SENIOR_BELOW",
    "claim_at",
    "expected_route",
    "generate",
    "parse_request_id",
    "request_id",
    "review",
    "served",
    "served_model",
]

#: Routing thresholds, mirrored from policies/claims-triage.yaml (the gateway stays authoritative).
AUTO_ABOVE = 0.92
SENIOR_BELOW = 0.70
HIGH_VALUE = 50_000.0

OUTCOMES: Mapping[str, float] = {"approve": 0.72, "partial": 0.16, "deny": 0.12}
"""The true outcomes and their base rates."""

CLAIM_TYPES: Mapping[str, float] = {"auto": 0.38, "home": 0.24, "health": 0.18, "travel": 0.12, "liability": 0.08}
"""The policy's claim_type enum, with how often each occurs."""

REGIONS = ("north", "south", "east", "west", "central")

MODEL = "claims-gbm"
MODEL_VERSION = "2024.06-demo"

#: Amounts are log-normal: median $4,000, and sigma chosen so P(amount >= $50,000) = 3%
#: (z = 1.881 for a 3% upper tail; ln(50000 / 4000) / 1.881 = 1.343).
AMOUNT_MEDIAN = 4_000.0
AMOUNT_SIGMA = 1.343

#: Share of unusual claims, and the Beta(mean, concentration) of confidence for each kind.
HARD_SHARE = 0.19
ROUTINE_CONFIDENCE = (0.975, 120.0)
HARD_CONFIDENCE = (0.74, 80.0)


@dataclass(frozen=True, slots=True)
class Claim:
    """One synthetic claim, the model's proposal for it, and the truth only a reviewer sees."""

    seed: int
    index: int
    subject_ref: str
    amount: float
    claim_type: str
    tenure_years: int
    prior_claims: int
    region: str
    proposal: str
    confidence: float
    scores: Mapping[str, float] = field(hash=False)
    truth: str

    @property
    def correct(self) -> bool:
        """Whether the model's proposal is the true outcome."""
        return self.proposal == self.truth

    def input(self) -> dict[str, object]:
        """The input features, as the claims-triage policy's input_schema names them."""
        return {
            "amount": self.amount,
            "claim_type": self.claim_type,
            "policy_holder_tenure_years": self.tenure_years,
            "prior_claims_12m": self.prior_claims,
            "region": self.region,
        }

    def explanation(self) -> str:
        """A one-line account of the proposal, as a model explanation would read."""
        return (
            f"{self.claim_type} claim of ${self.amount:,.2f}; tenure {self.tenure_years}y, "
            f"{self.prior_claims} prior claim(s) in 12 months; proposes {self.proposal} "
            f"at {self.confidence:.1%}"
        )


@dataclass(frozen=True, slots=True)
class ReviewerVerdict:
    """What a simulated reviewer does: APPROVE a right proposal, OVERRIDE a wrong one."""

    action: str
    outcome: str
    reason: str


def _pick(rng: random.Random, weights: Mapping[str, float], exclude: str | None = None) -> str:
    names = [k for k in weights if k != exclude]
    return rng.choices(names, weights=[weights[k] for k in names])[0]


def _beta(rng: random.Random, mean: float, concentration: float) -> float:
    return rng.betavariate(mean * concentration, (1.0 - mean) * concentration)


def _model_draw(rng: random.Random) -> tuple[str, float, dict[str, float], str]:
    """The calibrated model's proposal, confidence and scores, and the truth, drawn from ``rng``."""
    mean, conc = HARD_CONFIDENCE if rng.random() < HARD_SHARE else ROUTINE_CONFIDENCE
    # Rounded once here: the rounded value is the confidence sent, routed on and scored.
    confidence = round(min(max(_beta(rng, mean, conc), 0.34), 0.9999), 4)
    truth = _pick(rng, OUTCOMES)
    proposal = truth if rng.random() < confidence else _pick(rng, OUTCOMES, exclude=truth)
    rest = {k: w for k, w in OUTCOMES.items() if k != proposal}
    total = sum(rest.values())
    scores = {proposal: confidence} | {k: round((1 - confidence) * w / total, 4) for k, w in rest.items()}
    return proposal, confidence, scores, truth


def claim_at(seed: int, index: int) -> Claim:
    """Claim number ``index`` of the day drawn with ``seed``; the same arguments, the same claim."""
    rng = random.Random(f"signoff-demo:{seed}:{index}")
    amount = round(AMOUNT_MEDIAN * math.exp(rng.gauss(0.0, AMOUNT_SIGMA)), 2)
    claim_type = _pick(rng, CLAIM_TYPES)
    tenure = min(int(rng.expovariate(1 / 6.0)), 40)
    prior = min(int(rng.expovariate(1 / 0.4)), 9)
    region = rng.choice(REGIONS)
    proposal, confidence, scores, truth = _model_draw(rng)
    return Claim(
        seed=seed,
        index=index,
        subject_ref=f"holder-{rng.getrandbits(48):012x}",
        amount=amount,
        claim_type=claim_type,
        tenure_years=tenure,
        prior_claims=prior,
        region=region,
        proposal=proposal,
        confidence=confidence,
        scores=scores,
        truth=truth,
    )


def _features_key(features: Mapping[str, object]) -> str:
    """The claim's features as one text, the same whether read from a Claim or from a JSON input."""
    amount = float(features["amount"])  # type: ignore[arg-type]
    tenure = int(float(features["policy_holder_tenure_years"]))  # type: ignore[arg-type]
    prior = int(float(features["prior_claims_12m"]))  # type: ignore[arg-type]
    return f"{amount:.2f}|{features['claim_type']}|{tenure}|{prior}|{features['region']}"


def _served_draw(features: Mapping[str, object]) -> tuple[str, float, dict[str, float], str]:
    """The served model's proposal, confidence and scores for ``features``, and the truth it is judged by.

    The same mixture and calibration as ``claim_at``, drawn from the features alone: a model that
    reads the input, not a number the caller sends. (The truth is drawn alongside so the simulated
    reviewers can judge; a real model does not know it.)
    """
    return _model_draw(random.Random(f"signoff-demo-model:{_features_key(features)}"))


def served_model(features: Mapping[str, object]) -> dict[str, object]:
    """The demo's claims model as an in-process model binding (``backend: python``) serves it."""
    proposal, confidence, scores, _ = _served_draw(features)
    return {"outcome": proposal, "confidence": confidence, "scores": scores, "version": MODEL_VERSION}


def served(claim: Claim) -> Claim:
    """``claim`` with the proposal the served model gives for its input (``signoff demo --model``)."""
    from dataclasses import replace

    proposal, confidence, scores, truth = _served_draw(claim.input())
    return replace(claim, proposal=proposal, confidence=confidence, scores=scores, truth=truth)


def generate(n: int, seed: int) -> Iterator[Claim]:
    """The day's ``n`` claims, in order."""
    return (claim_at(seed, i) for i in range(n))


def expected_route(claim: Claim) -> str:
    """Where claims-triage should send the claim: ``auto``, ``junior`` or ``senior``."""
    if claim.amount >= HIGH_VALUE or claim.confidence < SENIOR_BELOW:
        return "senior"
    if claim.confidence <= AUTO_ABOVE:
        return "junior"
    return "auto"


def review(claim: Claim) -> ReviewerVerdict:
    """A diligent reviewer: the proposal stands when right, the true outcome replaces it when wrong."""
    if claim.correct:
        return ReviewerVerdict("APPROVE", claim.proposal, "")
    return ReviewerVerdict(
        "OVERRIDE",
        claim.truth,
        f"file review shows {claim.truth}, not {claim.proposal}",
    )


def request_id(run: str, claim: Claim) -> str:
    """The Decide idempotency key: unique per run, and enough to rebuild the claim."""
    return f"demo-{run}-s{claim.seed}-{claim.index:06d}"


def parse_request_id(value: str) -> tuple[int, int] | None:
    """(seed, index) from a demo request id, or None for any other request id."""
    parts = value.split("-")
    if len(parts) != 4 or parts[0] != "demo" or not parts[2].startswith("s"):
        return None
    try:
        return int(parts[2][1:]), int(parts[3])
    except ValueError:
        return None
