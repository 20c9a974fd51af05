"""Canonical JSON and the policy digest, so formatting and comments never change a policy's identity.

Pure: stdlib only. The digest is what every decision records; an auditor recomputes it from the
stored text with :func:`digest` and gets the same value on any machine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "digest"]


def canonical_json(document: Any) -> bytes:
    """The document as UTF-8 JSON with sorted keys and no whitespace."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def digest(document: Any) -> str:
    """Hex sha256 of the document's canonical JSON."""
    return hashlib.sha256(canonical_json(document)).hexdigest()
