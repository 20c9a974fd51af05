"""The policy-loading use case: store every version's text once and log ``policy_loaded``."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.policy.model import Policy
from gateway.review.model import EventDraft
from gateway.review.ports import Clock, StoredPolicy, Store, WriteTx

__all__ = ["record_policies"]


def record_policies(store: Store, clock: Clock, policies: Sequence[Policy], actor: str = "gateway") -> int:
    """Store each policy's text once and append ``policy_loaded`` for the new ones.

    Raises ``Conflict`` (and stores nothing) when a version is reused with other content, so
    an auditor can always read the exact text behind a recorded version and digest.
    """

    def op(tx: WriteTx) -> int:
        now = clock.now()
        new = 0
        for p in policies:
            stored = StoredPolicy(ref=p.ref, decision_type=p.decision, text=p.source_text, loaded_at=now)
            if tx.store_policy(stored):
                new += 1
                tx.append(EventDraft(
                    type="policy_loaded",
                    time=now,
                    actor=actor,
                    policy_name=p.name,
                    policy_version=p.version,
                    policy_digest=p.ref.digest,
                    body={"decision_type": p.decision, "path": p.source_path, "owners": list(p.owners)},
                ))
        return new

    return store.write(op)
