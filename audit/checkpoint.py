"""Signed checkpoints of the chain head (C2SP tlog-checkpoint notes), so its end can be proven.

A chain proves nothing about its end: rows cut from the tail, or well-formed rows appended,
still verify. A checkpoint is the head ``(seq, hash)`` at a time, signed with an Ed25519 key
that is never in the database, and published where the writer cannot rewrite it. Pure: stdlib
and ``cryptography``.

The format is the C2SP ``signed-note`` carrying a ``tlog-checkpoint`` body::

    <origin>\\n
    <size: the head seq, decimal>\\n
    <root hash: base64 of the 32 bytes of the head hash>\\n
    time <UTC time, YYYY-MM-DDTHH:MM:SS.ffffffZ>\\n     (an extension line)
    \\n
    — <key name> <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>\\n

The signature covers the body up to and including its last newline (not the blank line).
``key id = sha256(name || 0x0A || 0x01 || public key)[:4]``. A verifier key is written
``<name>+<hex key id>+<base64(0x01 || public key)>``; the private key file holds
``PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || seed)>`` (the Go ``sumdb/note`` forms).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "ALG_ED25519",
    "Checkpoint",
    "NoteError",
    "SignerKey",
    "VerifierKey",
    "generate_key",
    "key_id",
    "parse_checkpoint",
    "sign_checkpoint",
    "verify_checkpoint",
]

ALG_ED25519 = 0x01
"""The signature-type byte of Ed25519 in key ids and key encodings."""

_DASH = "\u2014 "
_TIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


class NoteError(Exception):
    """A note or key that is malformed or not signed by the expected key, with where."""

    def __init__(self, source: str, line: int, reason: str) -> None:
        super().__init__(f"{source}:{line}: {reason}")
        self.source, self.line, self.reason = source, line, reason


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain head at a time: ``size`` is the head seq, ``root_hash`` its hash (hex)."""

    origin: str
    size: int
    root_hash: str
    time: str

    def body(self) -> str:
        """The note text the signature covers."""
        root = base64.b64encode(bytes.fromhex(self.root_hash)).decode()
        return f"{self.origin}\n{self.size}\n{root}\ntime {self.time}\n"


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_id(name: str, public: bytes) -> bytes:
    """The 4-byte id that binds a signature to ``(name, Ed25519, public key)``."""
    return sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A public key with its name: checks signatures."""

    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        """The key id."""
        return key_id(self.name, self.public)

    def encode(self) -> str:
        """``<name>+<hex id>+<base64(0x01 || key)>``."""
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.public).decode()
        return f"{self.name}+{self.id.hex()}+{raw}"

    @classmethod
    def parse(cls, text: str, source: str = "<key>") -> VerifierKey:
        """Read a verifier key; a malformed one is a ``NoteError`` naming ``source``."""
        name, raw = _split_key(text.strip(), source, private=False)
        return cls(name, raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's over ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    """A private key with its name: signs notes. Kept in a file, never in the database."""

    name: str
    seed: bytes

    @property
    def verifier(self) -> VerifierKey:
        """The matching public key."""
        pub = Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return VerifierKey(self.name, pub.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def encode(self) -> str:
        """``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``."""
        raw = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{raw}"

    @classmethod
    def parse(cls, text: str, source: str = "<key>") -> SignerKey:
        """Read a private key; a malformed one is a ``NoteError`` naming ``source``."""
        text = text.strip()
        if not text.startswith("PRIVATE+KEY+"):
            raise NoteError(source, 1, "not a signing key (expected PRIVATE+KEY+<name>+<id>+<key>)")
        name, seed = _split_key(text.removeprefix("PRIVATE+KEY+"), source, private=True)
        key = cls(name, seed)
        return key

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature over ``message``."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def _split_key(text: str, source: str, *, private: bool) -> tuple[str, bytes]:
    parts = text.split("+", 2)
    if len(parts) != 3 or not _valid_name(parts[0]):
        raise NoteError(source, 1, "malformed key (expected <name>+<hex id>+<base64 key>)")
    name, hex_id, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
        want_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise NoteError(source, 1, "malformed key: bad hex id or base64") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519 or len(want_id) != 4:
        raise NoteError(source, 1, "not an Ed25519 key")
    body = raw[1:]
    pub = (
        Ed25519PrivateKey.from_private_bytes(body).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if private
        else body
    )
    if key_id(name, pub) != want_id:
        raise NoteError(source, 1, "key id does not match the key")
    return name, body


def generate_key(name: str) -> SignerKey:
    """A fresh Ed25519 signing key named ``name`` (no spaces, no '+')."""
    if not _valid_name(name):
        raise ValueError(f"key name {name!r}: must be non-empty, without spaces or '+'")
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return SignerKey(name, seed)


def sign_checkpoint(cp: Checkpoint, key: SignerKey) -> str:
    """The signed note of ``cp``."""
    if not _valid_name(cp.origin) or not _HEX64.match(cp.root_hash) or cp.size < 0:
        raise ValueError(f"not a checkpoint: {cp!r}")
    if not _TIME_RE.match(cp.time):
        raise ValueError(f"checkpoint time {cp.time!r}: expected YYYY-MM-DDTHH:MM:SS.ffffffZ")
    body = cp.body()
    sig = base64.b64encode(key.verifier.id + key.sign(body.encode())).decode()
    return f"{body}\n{_DASH}{key.name} {sig}\n"


def parse_checkpoint(note: str, source: str = "<note>") -> tuple[Checkpoint, list[tuple[str, bytes, bytes]]]:
    """Split and check a note's syntax: the checkpoint and its ``(name, key id, sig)`` lines.

    Signatures are not checked here (``verify_checkpoint`` does). Every refusal names
    ``source`` and the 1-based line.
    """
    if not note.endswith("\n"):
        raise NoteError(source, note.count("\n") + 1, "note does not end with a newline")
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError(source, note.count("\n") + 1, "no blank line before the signatures")
    body, sigs = note[: cut + 1], note[cut + 2 :]
    lines = body.split("\n")[:-1]
    if len(lines) < 3:
        raise NoteError(source, len(lines) + 1, "a checkpoint needs origin, size and root hash lines")
    origin, size_text, root_text, *ext = lines
    if not _valid_name(origin):
        raise NoteError(source, 1, f"origin {origin!r} is empty or has spaces or '+'")
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")) or not size_text.isascii():
        raise NoteError(source, 2, f"size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error:
        raise NoteError(source, 3, "root hash is not base64") from None
    if len(root) != 32:
        raise NoteError(source, 3, f"root hash has {len(root)} bytes, expected 32")
    time = ""
    for i, line in enumerate(ext, start=4):
        if not line:
            raise NoteError(source, i, "empty extension line")
        if line.startswith("time "):
            time = line.removeprefix("time ")
            if not _TIME_RE.match(time):
                raise NoteError(source, i, f"time {time!r}: expected YYYY-MM-DDTHH:MM:SS.ffffffZ")
    if not time:
        raise NoteError(source, len(lines) + 1, "no 'time' extension line")
    signatures: list[tuple[str, bytes, bytes]] = []
    base = len(lines) + 2
    sig_lines = sigs.split("\n")[:-1]
    if not sig_lines:
        raise NoteError(source, base, "no signature lines")
    for i, line in enumerate(sig_lines, start=base):
        parts = line.removeprefix(_DASH).split(" ")
        if not line.startswith(_DASH) or len(parts) != 2 or not _valid_name(parts[0]):
            raise NoteError(source, i, "malformed signature line (expected '\u2014 <name> <base64>')")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except binascii.Error:
            raise NoteError(source, i, "signature is not base64") from None
        if len(raw) < 5:
            raise NoteError(source, i, "signature too short")
        signatures.append((parts[0], raw[:4], raw[4:]))
    return Checkpoint(origin, int(size_text), root.hex(), time), signatures


def verify_checkpoint(note: str, key: VerifierKey, source: str = "<note>") -> Checkpoint:
    """The checkpoint of ``note`` if ``key`` signed it; else a ``NoteError`` with the line."""
    cp, signatures = parse_checkpoint(note, source)
    body = note[: note.rfind("\n\n") + 1].encode()
    first_sig_line = note[: note.rfind("\n\n")].count("\n") + 3
    for i, (name, kid, sig) in enumerate(signatures):
        if name == key.name and kid == key.id:
            if not key.verify(body, sig):
                raise NoteError(source, first_sig_line + i, f"signature by {name} does not verify")
            return cp
    raise NoteError(source, first_sig_line, f"not signed by key {key.name}+{key.id.hex()}")
