"""The policy digest: sha256 of the canonical form, blind to formatting and comments."""

from __future__ import annotations

import hashlib

from gateway.policy import canonical_json, digest, load_policy_text
from tests.policy.conftest import POLICIES

CLAIMS = (POLICIES / "claims-triage.yaml").read_text(encoding="utf-8")


class TestDigest:
    """What changes the digest and what does not."""

    def test_digest_is_sha256_of_canonical_json(self):
        """The digest is the hex sha256 of sorted, whitespace-free UTF-8 JSON."""
        assert digest({"b": 1, "a": "é"}) == hashlib.sha256('{"a":"é","b":1}'.encode()).hexdigest()

    def test_canonical_json_sorts_keys_without_whitespace(self):
        """Canonical JSON sorts keys and has no whitespace."""
        assert canonical_json({"b": [1, 2], "a": None}) == b'{"a":null,"b":[1,2]}'

    def test_comments_do_not_change_digest(self):
        """Adding comments and blank lines keeps the digest."""
        edited = "# a new comment\n\n" + CLAIMS.replace("rules:\n", "rules:  # ordered\n")
        assert load_policy_text(edited, "a").ref.digest == load_policy_text(CLAIMS, "b").ref.digest

    def test_reformatting_does_not_change_digest(self):
        """Flow style versus block style is the same policy."""
        edited = CLAIMS.replace(
            "  owners: [claims-compliance, claims-ml]", "  owners:\n    - claims-compliance\n    - claims-ml"
        )
        assert load_policy_text(edited, "a").ref.digest == load_policy_text(CLAIMS, "b").ref.digest

    def test_key_order_does_not_change_digest(self):
        """Moving a top-level key keeps the digest."""
        edited = CLAIMS.replace("default: senior\n", "") + "default: senior\n"
        assert load_policy_text(edited, "a").ref.digest == load_policy_text(CLAIMS, "b").ref.digest

    def test_content_change_changes_digest(self):
        """Changing a threshold changes the digest."""
        edited = CLAIMS.replace("gte: 50000", "gte: 40000")
        assert load_policy_text(edited, "a").ref.digest != load_policy_text(CLAIMS, "b").ref.digest

    def test_digest_is_stable_across_loads(self):
        """The same text gives the same digest every time."""
        assert load_policy_text(CLAIMS, "a").ref.digest == load_policy_text(CLAIMS, "a").ref.digest
