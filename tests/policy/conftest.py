"""Fixtures for the policy tests: a small valid policy, written to tmp_path with variations."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"

BASE: dict[str, Any] = {
    "apiVersion": "signoff.dev/v1",
    "kind": "RoutingPolicy",
    "metadata": {"name": "loans", "version": 1, "owners": ["credit"], "description": "Test policy."},
    "decision": "loans.approval",
    "input_schema": {
        "type": "object",
        "required": ["amount"],
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "applicant": {"type": "object", "properties": {"age": {"type": "integer"}}},
            "region": {"type": "string"},
        },
    },
    "significant": False,
    "outcomes": ["approve", "deny"],
    "adverse_outcomes": ["deny"],
    "rules": [
        {"name": "big", "when": {"input.amount": {"gte": 1000}}, "to": "senior"},
        {"name": "unsure", "when": {"confidence": {"lt": 0.8}}, "to": "junior"},
        {"name": "sure", "when": {"confidence": {"gte": 0.8}}, "to": "auto"},
    ],
    "default": "junior",
    "fail_closed_to": "senior",
    "queues": {"junior": {"roles": ["clerk"]}, "senior": {"roles": ["officer"]}},
}


def policy_doc(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE with top-level keys replaced (a value of None deletes the key)."""
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or a document, dumped as YAML) to a file under tmp_path; return its path."""

    def _write(content: str | dict[str, Any], name: str = "policy.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path

    return _write
