"""Bearer-token authentication: a principals file maps token sha256 hashes to names and roles.

The file never holds a token, only its hash, so it can sit in a repository or a config map:

    principals:
      - name: claims-service
        token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        roles: [caller]
        decision_types: [claims.payout]   # optional: the only types it may Decide

``decision_types`` is checked here (a non-empty list of distinct decision types; absent means
any type) and carried on the ``Principal``; the Decide use case refuses any other type.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import InvalidRequest, Unauthenticated
from gateway.review.model import Principal

__all__ = ["Authenticator", "decision_types", "parse_principals", "token_hash"]


def token_hash(token: str) -> str:
    """The sha256 hex of a bearer token, as the principals file stores it."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_principals(doc: Any, source: str) -> list[tuple[str, Principal]]:
    """Check a parsed principals document; raise ``InvalidRequest`` naming the bad entry."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("principals"), list):
        raise InvalidRequest(source, "must be a mapping with a 'principals' list")
    out: list[tuple[str, Principal]] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["principals"]):
        where = f"{source}: principals[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidRequest(where, "must be a mapping")
        name, digest, roles = entry.get("name"), entry.get("token_sha256"), entry.get("roles")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{where}.name", "must be a non-empty string")
        if not isinstance(digest, str) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise InvalidRequest(f"{where}.token_sha256", "must be 64 lowercase hex digits")
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise InvalidRequest(f"{where}.roles", "must be a list of role names")
        if digest in seen:
            raise InvalidRequest(f"{where}.token_sha256", "is used by an earlier principal")
        seen.add(digest)
        unknown = sorted(set(entry) - _KEYS)
        if unknown:
            raise InvalidRequest(f"{where}.{unknown[0]}", f"is not one of: {', '.join(sorted(_KEYS))}")
        types = decision_types(entry.get("decision_types"), f"{where}.decision_types")
        out.append((digest, Principal(name=name, roles=frozenset(roles), decision_types=types)))
    return out


_KEYS = frozenset({"name", "token_sha256", "roles", "decision_types"})


def decision_types(value: Any, where: str) -> frozenset[str] | None:
    """An entry's optional ``decision_types`` allow-list; None when absent (any type)."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise InvalidRequest(where, "must be a non-empty list of decision types (leave it out for any)")
    for i, t in enumerate(value):
        if not isinstance(t, str) or not t.strip() or len(t) > 128:
            raise InvalidRequest(f"{where}[{i}]", "must be a decision type of 1 to 128 characters")
    if len(set(value)) != len(value):
        raise InvalidRequest(where, "lists a decision type twice")
    return frozenset(value)


@dataclass(frozen=True)
class Authenticator:
    """Resolves ``authorization: Bearer <token>`` metadata to a principal."""

    by_hash: Mapping[str, Principal]

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[str, Principal]]) -> Authenticator:
        """Build from (token sha256, principal) pairs."""
        return cls(dict(entries))

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> Principal:
        """The principal holding the bearer token in ``metadata``, or ``Unauthenticated``."""
        header = next((v for k, v in metadata if k == "authorization"), None)
        if header is None:
            raise Unauthenticated("missing 'authorization: Bearer <token>' metadata")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        digest = token_hash(token.strip())
        principal = self.by_hash.get(digest)  # a hash lookup leaks nothing about the token
        if principal is None:
            raise Unauthenticated("unknown bearer token")
        return principal
