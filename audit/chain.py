"""Hash-chaining of audit events: each hash covers every column and the previous hash.

Pure: stdlib only.

The preimage is a versioned, length-prefixed encoding of the columns, in a fixed order::

    signoff.audit.v2\\n <len>:<seq> <len>:<time> <len>:<type> ... <len>:<body_json>

(without the spaces), where each length counts the characters of the field's text and the
whole string is UTF-8 encoded. Length prefixes make the encoding injective (no separator a
field could forge), and the stored ``body_json`` text is hashed exactly as stored, so a
verifier recomputes every hash from the columns without parsing JSON. The time enters as
``hashed_time`` text (UTC ``YYYY-MM-DD HH:MM:SS.ffffff``), which is the very text SQLite
stores and PostgreSQL renders with ``to_char``, so a verifier parses no datetime either
(``stored_preimage``). Version 2 differs from version 1 only there (v1 hashed ``iso_utc``).
``hash = sha256(prev_hash as ASCII || preimage)`` in lower-case hex.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from hashlib import sha256

from audit.record import Event, NewEvent, canonical_json, hashed_time, to_utc

__all__ = [
    "PREIMAGE_VERSION",
    "chain",
    "chain_hash",
    "chain_with_times",
    "event_hash",
    "event_preimage",
    "stored_preimage",
]

PREIMAGE_VERSION = "signoff.audit.v2\n"
"""Leads every preimage, so a future encoding can never collide with this one."""


def stored_preimage(
    seq: int,
    time: str,
    type: str,
    decision_id: str,
    decision_type: str,
    actor: str,
    policy_name: str,
    policy_version: int,
    policy_digest: str,
    body_json: str,
) -> bytes:
    """The preimage from column values as stored, in table order, ``time`` as ``hashed_time``."""
    s = str(seq)
    v = str(policy_version)
    return (
        f"{PREIMAGE_VERSION}{len(s)}:{s}{len(time)}:{time}{len(type)}:{type}"
        f"{len(decision_id)}:{decision_id}{len(decision_type)}:{decision_type}"
        f"{len(actor)}:{actor}{len(policy_name)}:{policy_name}{len(v)}:{v}"
        f"{len(policy_digest)}:{policy_digest}{len(body_json)}:{body_json}"
    ).encode()


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
    return stored_preimage(
        seq,
        hashed_time(time),
        type,
        decision_id,
        decision_type,
        actor,
        policy_name,
        policy_version,
        policy_digest,
        body_json,
    )


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
    return chain_with_times(events, head_seq, head_hash)[0]


def chain_with_times(events: Sequence[NewEvent], head_seq: int, head_hash: str) -> tuple[list[Event], list[str]]:
    """``chain``, and each event's time as the ``hashed_time`` text its hash covers.

    The store writes that text (SQLite) without formatting the time a second time. This is
    the append hot path, so ``stored_preimage`` is inlined: one f-string, one encode, one hash.
    """
    head = PREIMAGE_VERSION
    out: list[Event] = []
    times: list[str] = []
    seq, prev = head_seq, head_hash
    prev.encode("ascii")  # the head must be a hex hash, as chain_hash requires
    for new in events:
        seq += 1
        time = new.time if new.time.tzinfo is UTC else to_utc(new.time)
        t = time.isoformat(" ", "microseconds")[:26]  # hashed_time, inlined
        body_json = new.body_json or canonical_json(new.body)
        s = str(seq)
        v = str(new.policy_version)
        ty, did, dt, ac = new.type, new.decision_id, new.decision_type, new.actor
        pn, pd = new.policy_name, new.policy_digest
        digest = sha256(
            f"{prev}{head}{len(s)}:{s}{len(t)}:{t}{len(ty)}:{ty}{len(did)}:{did}"
            f"{len(dt)}:{dt}{len(ac)}:{ac}{len(pn)}:{pn}{len(v)}:{v}{len(pd)}:{pd}"
            f"{len(body_json)}:{body_json}".encode()
        ).hexdigest()
        out.append(Event(seq, time, ty, did, ac, pn, new.policy_version, pd, body_json, prev, digest, dt))
        times.append(t)
        prev = digest
    return out, times
