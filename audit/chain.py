"""Hash-chaining of audit events: each hash covers every column and the previous hash.

Pure: stdlib only.

The preimage is a versioned, length-prefixed encoding of the columns, in a fixed order::

    signoff.audit.v1\\n <len>:<seq> <len>:<time> <len>:<type> ... <len>:<body_json>

(without the spaces), where each length counts the characters of the field's text and the
whole string is UTF-8 encoded. Length prefixes make the encoding injective (no separator a
field could forge), and the stored ``body_json`` text is hashed exactly as stored, so a
verifier recomputes every hash from the columns without parsing JSON.
``hash = sha256(prev_hash as ASCII || preimage)`` in lower-case hex.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from hashlib import sha256

from audit.record import Event, NewEvent, canonical_json, iso_utc, to_utc

__all__ = ["PREIMAGE_VERSION", "chain", "chain_hash", "event_hash", "event_preimage"]

PREIMAGE_VERSION = "signoff.audit.v1\n"
"""Leads every preimage, so a future encoding can never collide with this one."""


def event_preimage(
    seq: int,
    time: datetime,
    type: str,
    decision_id: str,
    actor: str,
    policy_name: str,
    policy_version: int,
    policy_digest: str,
    body_json: str,
    decision_type: str = "",
) -> bytes:
    """The canonical bytes of one event's columns (all of them except the two hashes)."""
    s = str(seq)
    t = iso_utc(time)
    v = str(policy_version)
    return (
        f"{PREIMAGE_VERSION}{len(s)}:{s}{len(t)}:{t}{len(type)}:{type}"
        f"{len(decision_id)}:{decision_id}{len(decision_type)}:{decision_type}"
        f"{len(actor)}:{actor}{len(policy_name)}:{policy_name}{len(v)}:{v}"
        f"{len(policy_digest)}:{policy_digest}{len(body_json)}:{body_json}"
    ).encode()


def chain_hash(prev_hash: str, preimage: bytes) -> str:
    """``sha256(prev_hash || preimage)`` as lower-case hex."""
    return sha256(prev_hash.encode("ascii") + preimage).hexdigest()


def event_hash(event: Event, *, seq: int | None = None) -> str:
    """Recompute ``event``'s hash from its stored columns (optionally as if at ``seq``)."""
    return chain_hash(
        event.prev_hash,
        event_preimage(
            event.seq if seq is None else seq,
            event.time,
            event.type,
            event.decision_id,
            event.actor,
            event.policy_name,
            event.policy_version,
            event.policy_digest,
            event.body_json,
            event.decision_type,
        ),
    )


def chain(events: Sequence[NewEvent], head_seq: int, head_hash: str) -> list[Event]:
    """Number and link ``events`` after the head ``(head_seq, head_hash)``, in order."""
    out: list[Event] = []
    seq, prev = head_seq, head_hash
    for new in events:
        seq += 1
        time = to_utc(new.time)
        body_json = canonical_json(new.body)
        digest = chain_hash(
            prev,
            event_preimage(
                seq,
                time,
                new.type,
                new.decision_id,
                new.actor,
                new.policy_name,
                new.policy_version,
                new.policy_digest,
                body_json,
                new.decision_type,
            ),
        )
        out.append(
            Event(
                seq=seq,
                time=time,
                type=new.type,
                decision_id=new.decision_id,
                actor=new.actor,
                policy_name=new.policy_name,
                policy_version=new.policy_version,
                policy_digest=new.policy_digest,
                body_json=body_json,
                prev_hash=prev,
                hash=digest,
                decision_type=new.decision_type,
            )
        )
        prev = digest
    return out
