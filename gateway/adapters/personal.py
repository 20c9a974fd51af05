"""The embedded key store: per-subject AES-256-GCM keys in the gateway's own database.

Each sealing (a Decide's personal fields, a reviewer's reason) gets a new key, kept under the
subject's ref in ``subject_keys`` and stored by the same Change as the envelopes; erasing the
subject destroys every key under its ref. Sealing thus reads nothing on Decide's path, cannot
race an erasure (a Decide after it simply has a new key), and one leaked key opens one record.

What it protects against: a copy of the decisions table or the audit log (a backup, an export, a
read replica, a leaked dump without ``subject_keys``) shows no personal value, and once a
subject's keys are erased no one, the operator included, can open their sealed fields again,
while the hash chain (which covers only ciphertext) still verifies. What it does not protect
against: someone who can read ``subject_keys`` in the same database reads everything not yet
erased; a backup taken before an erasure still holds the key. A deployment that needs more puts
the keys behind the ``PersonalData`` port elsewhere (a KMS, another database).

Envelope: ``{"$sealed": "aes-256-gcm", "kid": <key id>, "n": <base64 nonce>, "c": <base64
ciphertext>}``; the plaintext is the field's canonical JSON; the associated data binds it to the
subject and the field name, so an envelope moved to another subject or field does not open.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Engine, delete, insert, select, update

from audit.record import canonical_json
from gateway.adapters.db import WRITE
from gateway.adapters.tables import subject_holds, subject_keys
from gateway.errors import NotFound, PreconditionFailed
from gateway.review.personal import ERASED, ERASED_TEXT, SEALED, SEALED_TEXT, Sealed, SubjectKey, is_sealed

__all__ = ["ALGORITHM", "KeyRing", "SqlPersonalData", "is_sealed_json", "shown_input", "subject_key_values"]

ALGORITHM = "aes-256-gcm"
_K = subject_keys.c
_H = subject_holds.c


def _aad(subject_ref: str, field: str) -> bytes:
    return f"signoff-personal/v1\n{subject_ref}\n{field}".encode()


def _envelope(value: Any) -> Mapping[str, Any] | None:
    if isinstance(value, str):
        try:
            env = json.loads(value[len(SEALED_TEXT) :])
        except ValueError:
            return None
        return env if isinstance(env, Mapping) else None
    return value


def subject_key_values(k: SubjectKey) -> dict[str, Any]:
    """A new key's ``subject_keys`` row (the writer inserts it with the Change that made it)."""
    return {
        "key_id": k.key_id,
        "subject_ref": k.subject_ref,
        "key": k.key,
        "created_at": k.created_at,
        "erased_at": None,
        "erase_reason": None,
    }


class KeyRing:
    """Opens envelopes over one connection, reading each key once (for exports of many rows)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._keys: dict[str, bytes | None] = {}

    def _key(self, kid: str) -> bytes | None:
        if kid not in self._keys:
            row = self.conn.execute(select(_K.key).where(_K.key_id == kid)).first()
            self._keys[kid] = None if row is None or row.key is None else bytes(row.key)
        return self._keys[kid]

    def open(self, subject_ref: str, tree: Any, field: str = "") -> Any:  # an ``Opener``
        """``tree`` with each envelope in it opened; a mapping entry's key is the field name
        its envelope was sealed under. Erased: ``ERASED`` (``ERASED_TEXT`` for a text);
        tampered or moved: ``{"$unreadable": true}`` (``[unreadable]``), never a value."""
        if isinstance(tree, Mapping) and not is_sealed(tree):
            return {k: self.open(subject_ref, v, k) for k, v in tree.items()}
        if isinstance(tree, list):
            return [self.open(subject_ref, v, field) for v in tree]
        if not is_sealed(tree):
            return tree
        text = isinstance(tree, str)
        unreadable: Any = "[unreadable]" if text else {"$unreadable": True}
        env = _envelope(tree)
        if env is None:
            return unreadable
        key = self._key(str(env.get("kid", "")))
        if key is None:
            return ERASED_TEXT if text else dict(ERASED)
        try:
            nonce, ct = base64.b64decode(env["n"]), base64.b64decode(env["c"])
            return json.loads(AESGCM(key).decrypt(nonce, ct, _aad(subject_ref, field)))
        except (InvalidTag, KeyError, ValueError, TypeError):
            return unreadable


def shown_input(ring: KeyRing, subject_ref: str, input_json: str) -> tuple[dict[str, Any], list[str]]:
    """A stored input opened for an export or a replay, and the fields dropped from it because
    their key was erased (or they do not open): an erased value is absent, never a placeholder."""
    opened = ring.open(subject_ref, json.loads(input_json))
    gone = sorted(k for k, v in opened.items() if isinstance(v, dict) and ("$erased" in v or "$unreadable" in v))
    return {k: v for k, v in opened.items() if k not in gone}, gone


def is_sealed_json(text: str) -> bool:
    """Whether a stored JSON text holds an envelope (a quick test before parsing)."""
    return SEALED in text


class SqlPersonalData:
    """``PersonalData`` over the ``subject_keys`` table, plus erasure, holds and the key listing."""

    def __init__(self, engine: Engine, now: Callable[[], datetime]) -> None:
        self.engine, self.now = engine, now

    # -- the port ---------------------------------------------------------------------------

    def seal(self, subject_ref: str, values: Mapping[str, Any]) -> Sealed:
        """Each value sealed under a new key of the subject, which the caller's Change stores
        with the envelopes (this reads and writes nothing, so it runs on the event loop)."""
        key = SubjectKey(uuid.uuid4().hex, subject_ref, AESGCM.generate_key(bit_length=256), self.now())
        aead = AESGCM(key.key)
        out = {}
        for field, value in values.items():
            nonce = os.urandom(12)
            ct = aead.encrypt(nonce, canonical_json(value).encode(), _aad(subject_ref, field))
            out[field] = {
                SEALED: ALGORITHM,
                "kid": key.key_id,
                "n": base64.b64encode(nonce).decode(),
                "c": base64.b64encode(ct).decode(),
            }
        return Sealed(out, key)

    def open(self, subject_ref: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` with every envelope in it opened (``ERASED`` where its key was erased)."""
        with self.engine.connect() as conn:
            return dict(KeyRing(conn).open(subject_ref, values))

    # -- keys -------------------------------------------------------------------------------

    def erase(self, subject_ref: str, reason: str) -> int:
        """Destroy every key of the subject (crypto-shredding); how many were live.

        ``NotFound`` for a subject with no keys; ``PreconditionFailed`` under a legal hold,
        naming it. Checked and erased in one write transaction.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                hold = conn.execute(select(_H.reason, _H.held_by).where(_H.subject_ref == subject_ref)).first()
                if hold is not None:
                    raise PreconditionFailed(
                        f"subject {subject_ref!r} is under a legal hold ({hold.reason}, by {hold.held_by}): not erased"
                    )
                known = conn.execute(select(_K.key_id).where(_K.subject_ref == subject_ref).limit(1)).first()
                if known is None:
                    raise NotFound(f"no personal data is held for subject {subject_ref!r}")
                result = conn.execute(
                    update(subject_keys)
                    .where(_K.subject_ref == subject_ref, _K.key.is_not(None))
                    .values(key=None, erased_at=self.now(), erase_reason=reason)
                )
        return int(result.rowcount or 0)

    def hold(self, subject_ref: str, reason: str, by: str) -> None:
        """Put the subject under a legal hold (refused if one is already in place)."""
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                if conn.execute(select(_H.subject_ref).where(_H.subject_ref == subject_ref)).first() is not None:
                    raise PreconditionFailed(f"subject {subject_ref!r} is already under a legal hold")
                conn.execute(
                    insert(subject_holds).values(subject_ref=subject_ref, reason=reason, held_at=self.now(), held_by=by)
                )

    def release(self, subject_ref: str) -> None:
        """Lift the subject's legal hold (``NotFound`` when there is none)."""
        with self.engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                gone = conn.execute(delete(subject_holds).where(_H.subject_ref == subject_ref)).rowcount
        if not gone:
            raise NotFound(f"subject {subject_ref!r} is not under a legal hold")
