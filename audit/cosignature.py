"""Witness cosignatures of checkpoints (C2SP tlog-cosignature, Ed25519 ``cosignature/v1``).

A witness that accepts a checkpoint answers with a note signature line over
``"cosignature/v1\\ntime <T>\\n" || checkpoint body``, whose value is the 4-byte key id then a
timestamped signature (8-byte big-endian POSIX time, 64-byte Ed25519). The key id is
``SHA-256(name || "\\n" || 0x04 || public key)[:4]``. The gateway keeps each answer beside the
published note (``<seq>.note.cosig``), so ``signoff audit verify --witness-key`` can say which
checkpoints no witness ever cosigned. Pure; Ed25519 through ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from audit.checkpoint import NoteError

__all__ = ["ALG_COSIGNATURE_V1", "CosignerKey", "cosign", "cosigned_at", "message"]

ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "


def message(body: str, timestamp: int) -> bytes:
    """What a ``cosignature/v1`` signs: the header line, the time line, then the checkpoint body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key and name, as a vkey ``<name>+<hex id>+<base64(0x04 || key)>``."""

    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        """The 4-byte key id of a cosignature/v1 key."""
        return sha256(self.name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + self.public).digest()[:4]

    def encode(self) -> str:
        """The vkey text."""
        raw = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{raw}"

    @classmethod
    def parse(cls, text: str, source: str = "<witness key>") -> CosignerKey:
        """Read a witness vkey; a malformed one is a ``NoteError`` naming ``source``."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not parts[0] or any(c.isspace() for c in parts[0]):
            raise NoteError(source, 1, "malformed witness key (expected <name>+<hex id>+<base64 key>)")
        name, hex_id, b64 = parts
        try:
            raw, want = base64.b64decode(b64, validate=True), bytes.fromhex(hex_id)
        except (binascii.Error, ValueError):
            raise NoteError(source, 1, "malformed witness key: bad hex id or base64") from None
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise NoteError(source, 1, "not an Ed25519 cosignature/v1 key (type 0x04)")
        key = cls(name, raw[1:])
        if key.id != want:
            raise NoteError(source, 1, "key id does not match the key")
        return key

    @classmethod
    def of(cls, name: str, private: Ed25519PrivateKey) -> CosignerKey:
        """The public half of a witness's private key."""
        return cls(name, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def cosign(body: str, name: str, private: Ed25519PrivateKey, timestamp: int) -> str:
    """A witness's cosignature line for a checkpoint ``body`` (what a witness answers)."""
    key = CosignerKey.of(name, private)
    sig = private.sign(message(body, timestamp))
    value = base64.b64encode(key.id + struct.pack(">Q", timestamp) + sig).decode()
    return f"{_DASH}{name} {value}\n"


def cosigned_at(body: str, lines: str, key: CosignerKey) -> int | None:
    """The time of a valid cosignature by ``key`` over ``body`` among signature ``lines``, or None."""
    for line in lines.splitlines():
        if not line.startswith(_DASH):
            continue
        name, _, value = line[len(_DASH) :].partition(" ")
        if name != key.name:
            continue
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) != 4 + 8 + 64 or raw[:4] != key.id:
            continue
        (timestamp,) = struct.unpack(">Q", raw[4:12])
        if timestamp > 2**63 - 1:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(key.public).verify(raw[12:], message(body, timestamp))
        except InvalidSignature:
            continue
        return timestamp
    return None
