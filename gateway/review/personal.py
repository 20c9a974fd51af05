"""Personal data in decisions: sealed per subject before it is stored, opened only to be shown.

A policy marks fields of its ``input_schema`` personal (``"x-personal": true`` on a top-level
property). Before a Decide is stored, those fields are replaced by envelopes sealed under the
subject's key (``PersonalData``, an adapter: AES-256-GCM, keys in the database by default); the
decision row and the hash-chained events hold only the envelopes, so erasing the key
(crypto-shredding) leaves every figure and the chain intact while the personal values are gone.
The evaluator sees the plaintext in memory; a caller, reviewer or auditor is shown it opened,
or ``{"$erased": true}`` once the key is gone.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from audit.record import canonical_json
from gateway.errors import InvalidRequest
from gateway.policy.model import Policy
from gateway.review.model import Decision

__all__ = [
    "ALL_FIELDS",
    "ERASED",
    "ERASED_TEXT",
    "SEALED",
    "SEALED_TEXT",
    "Sealed",
    "SubjectKey",
    "Opener",
    "PersonalData",
    "is_erased",
    "is_sealed",
    "opened",
    "opened_now",
    "personal_fields",
    "seal_for",
    "seal_reason",
]

SEALED = "$sealed"
"""The key that marks a sealed envelope: ``{"$sealed": "aes-256-gcm", "kid": ..., "n": ..., "c": ...}``."""

SEALED_TEXT = "$sealed:"
"""The prefix of a sealed free-text field (a reviewer's reason): the envelope's JSON follows."""

ERASED: Mapping[str, Any] = {"$erased": True}
"""What a sealed field shows once its subject's key was erased."""

ERASED_TEXT = "[erased]"
"""What a sealed free-text field shows once its subject's key was erased."""

ALL_FIELDS = "*"
"""``Policy.personal`` holding only this: the whole input is personal (``x-personal`` on the schema)."""


class Opener(Protocol):
    """Opens sealed fields (blocking: keys live in storage)."""

    def open(self, subject_ref: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with each envelope in it (at any depth; a sealed text too) opened, or
        ``ERASED``/``ERASED_TEXT`` where its key is gone; everything else as given."""
        ...


class PersonalData(Opener, Protocol):
    """Seals and opens personal fields under per-subject keys (blocking: keys live in storage)."""

    def seal(self, subject_ref: str, values: Mapping[str, Any]) -> Sealed:
        """Each value as an envelope under a new key of the subject, returned for the use
        case's Change to store with the envelopes. Must not block: it runs on the event loop."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class SubjectKey:
    """A new per-subject key: a record of the Change that first seals under it (so it is
    stored in the same group-committed transaction as the data, or not at all)."""

    key_id: str
    subject_ref: str
    key: bytes = dataclasses.field(repr=False)
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Sealed:
    """Envelopes by field name, and the new key (if any) they are sealed under."""

    values: dict[str, Any]
    new_key: SubjectKey | None = None

    @property
    def records(self) -> tuple[SubjectKey, ...]:
        """What the Change must insert for these envelopes to open later."""
        return () if self.new_key is None else (self.new_key,)


NOTHING_SEALED = Sealed({})


def is_sealed(value: Any) -> bool:
    """Whether ``value`` is a sealed envelope, or a sealed text."""
    if isinstance(value, str):
        return value.startswith(SEALED_TEXT)
    return isinstance(value, Mapping) and SEALED in value


def is_erased(value: Any) -> bool:
    """Whether ``value`` is what an erased field shows."""
    return (
        value == ERASED_TEXT if isinstance(value, str) else isinstance(value, Mapping) and value.get("$erased") is True
    )


def personal_fields(policy: Policy | None, input: Mapping[str, Any]) -> list[str]:
    """The policy's personal fields that ``input`` carries (every field, for ``ALL_FIELDS``)."""
    if policy is None or not policy.personal:
        return []
    if policy.personal == (ALL_FIELDS,):
        return sorted(input)
    return [f for f in policy.personal if f in input]


def seal_for(port: PersonalData | None, policy: Policy | None, subject_ref: str, input: Mapping[str, Any]) -> Sealed:
    """The envelopes that replace ``input``'s personal fields before it is stored (none: empty)."""
    fields = personal_fields(policy, input)
    if not fields:
        return NOTHING_SEALED
    if port is None:  # fail closed: never store what the policy calls personal in clear
        raise InvalidRequest("input", "the policy marks personal fields, but this gateway has no key store")
    if not subject_ref:
        raise InvalidRequest("subject_ref", f"is required: the policy marks personal fields ({', '.join(fields)})")
    return port.seal(subject_ref, {f: input[f] for f in fields})


def seal_reason(
    port: PersonalData | None, policy: Policy | None, subject_ref: str, reason: str, field: str = "reason"
) -> tuple[str, tuple[SubjectKey, ...]]:
    """A free-text field (a reviewer's reason, a contest statement) as it is stored: sealed under
    a key of the subject where the policy marks personal data (free text can name a person), else
    as given; and the new key. ``field`` is the name it is sealed under and opened by."""
    if port is None or policy is None or not policy.personal or not subject_ref or not reason:
        return reason, ()
    sealed = port.seal(subject_ref, {field: reason})
    return SEALED_TEXT + canonical_json(sealed.values[field]), sealed.records


def _has_sealed(d: Decision) -> bool:
    return (
        any(is_sealed(v) for v in d.input.values())
        or is_sealed(d.review_reason)
        or (d.correction is not None and is_sealed(d.correction.reason))
        or any(is_sealed(c.statement) or is_sealed(c.reason) for c in d.contests)
    )


def opened_now(port: Opener | None, d: Decision) -> Decision:
    """``d`` as it may be shown: its sealed fields opened (or marked erased). Blocking."""
    if port is None or not _has_sealed(d):
        return d
    shown = port.open(
        d.subject_ref,
        {
            "input": dict(d.input),
            "review": {"reason": d.review_reason},  # each sealed under the field name "reason"
            **({"correction": {"reason": d.correction.reason}} if d.correction is not None else {}),
            "contests": [{"statement": c.statement, "reason": c.reason} for c in d.contests],
        },
    )
    correction = d.correction
    if correction is not None:
        correction = dataclasses.replace(correction, reason=shown["correction"]["reason"])
    contests = tuple(
        dataclasses.replace(c, statement=o["statement"], reason=o["reason"])
        for c, o in zip(d.contests, shown["contests"], strict=True)
    )
    return dataclasses.replace(
        d,
        input=shown["input"],
        input_json="",
        review_reason=shown["review"]["reason"],
        correction=correction,
        contests=contests,
    )


async def opened(port: PersonalData | None, d: Decision) -> Decision:
    """``opened_now`` off the event loop."""
    if port is None or not _has_sealed(d):
        return d
    return await asyncio.to_thread(opened_now, port, d)
