"""The policy core: versioned YAML routing policies, loaded once and evaluated purely.

    policy = load_policy("policies/claims-triage.yaml")   # PolicyError lists every issue
    route = policy.evaluate(EvalRequest(input, outcome, confidence))

``model``, ``canonical``, ``analysis``, ``compiler`` and ``evaluator`` are stdlib-only; ``loader``
is the one module that touches files, YAML and JSON Schema.
"""

from gateway.policy.canonical import canonical_json, digest
from gateway.policy.loader import (
    CaseFile,
    PolicyCase,
    lint_paths,
    load_cases,
    load_policy,
    load_policy_dir,
    load_policy_text,
    schema_text,
)
from gateway.policy.model import (
    AUTO,
    EvalRequest,
    Issue,
    Policy,
    PolicyRef,
    ProposalSource,
    Queue,
    Route,
    Sampling,
)

__all__ = [
    "AUTO",
    "CaseFile",
    "EvalRequest",
    "Issue",
    "Policy",
    "PolicyCase",
    "PolicyRef",
    "ProposalSource",
    "Queue",
    "Route",
    "Sampling",
    "canonical_json",
    "digest",
    "lint_paths",
    "load_cases",
    "load_policy",
    "load_policy_dir",
    "load_policy_text",
    "schema_text",
]
