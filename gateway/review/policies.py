"""The policy-loading use case: store every version's text once and log ``policy_loaded``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from audit.record import NewEvent, canonical_json
from gateway.errors import Conflict
from gateway.policy.model import Policy
from gateway.review.change import Change
from gateway.review.ports import Clock, ReadTx, Store, StoredPolicy

__all__ = ["plan_policies", "record_policies"]


def plan_policies(tx: ReadTx, now_policies: Sequence[Policy], clock: Clock, actor: str = "gateway") -> Change:
    """The Change storing each policy version not stored yet, with its ``policy_loaded`` event.

    Raises ``Conflict`` when a stored version has other content, so an auditor can always
    read the exact text behind a recorded version and digest.
    """
    now = clock.now()
    inserts: list[StoredPolicy] = []
    events: list[NewEvent] = []
    for p in now_policies:
        stored = tx.policy(p.name, p.version)
        if stored is not None:
            if stored.ref.digest != p.ref.digest:
                raise Conflict(
                    f"policy {p.name!r} version {p.version} is stored with digest "
                    f"{stored.ref.digest}, not {p.ref.digest}: give the new text a new version"
                )
            continue
        inserts.append(StoredPolicy(ref=p.ref, decision_type=p.decision, text=p.source_text, loaded_at=now))
        body = {"decision_type": p.decision, "path": p.source_path, "owners": list(p.owners)}
        events.append(
            NewEvent(
                type="policy_loaded",
                time=now,
                actor=actor,
                policy_name=p.name,
                policy_version=p.version,
                policy_digest=p.ref.digest,
                body=body,
                decision_type=p.decision,
                body_json=canonical_json(body),
            )
        )
    return Change(inserts=tuple(inserts), events=tuple(events))


async def record_policies(store: Store, clock: Clock, policies: Sequence[Policy], actor: str = "gateway") -> int:
    """Store each policy's text once and append ``policy_loaded`` for the new ones; the
    count stored. ``Conflict`` (and nothing stored) when a version is reused with other
    content. A replica storing the same text meanwhile is read again, once."""
    for attempt in (0, 1):
        change = await asyncio.to_thread(store.read, lambda tx: plan_policies(tx, policies, clock, actor))
        if not change:
            return 0
        try:
            await store.apply(change)
        except Conflict:
            if attempt:
                raise
            continue
        return len(change.inserts)
    return 0  # pragma: no cover - the loop returns or raises
