"""Offline proofs that a decision's events are in the log a signed checkpoint vouches for.

A proof is the chain segment from the decision's first event up to a signed checkpoint's seq,
as stored (every column), plus the checkpoint note. Anyone with the public key can check it
with no database: each row's hash recomputes from its columns and links to the row before, and
the last row is the signed head. Pure: stdlib and ``audit.checkpoint``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from audit.chain import stored_preimage
from audit.checkpoint import Checkpoint, NoteError, VerifierKey, verify_checkpoint
from audit.verify import STORED_COLUMNS, StoredRow

__all__ = ["FORMAT", "ProofError", "ProofResult", "build_proof", "check_proof", "dumps"]

FORMAT = "signoff.proof.v1"


class ProofError(Exception):
    """A proof that does not hold, or is not a proof at all; the message says which part."""


@dataclass(frozen=True, slots=True)
class ProofResult:
    """What a proof that holds shows."""

    decision_id: str
    seqs: tuple[int, ...]
    checkpoint: Checkpoint


def build_proof(decision_id: str, rows: Sequence[StoredRow], note: str) -> dict[str, Any]:
    """The proof document (JSON-able) for ``decision_id`` over ``rows`` up to the note's seq."""
    return {
        "format": FORMAT,
        "decision_id": decision_id,
        "columns": list(STORED_COLUMNS),
        "rows": [list(r) for r in rows],
        "checkpoint": note,
    }


def check_proof(doc: Any, key: VerifierKey, source: str = "<proof>") -> ProofResult:
    """Check a proof document against ``key``; raise ``ProofError`` naming what fails."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ProofError(f"not a {FORMAT} document")
    if doc.get("columns") != list(STORED_COLUMNS):
        raise ProofError("columns: not the stored event columns of this format")
    rows, decision_id = doc.get("rows"), doc.get("decision_id")
    if not isinstance(rows, list) or not rows or not isinstance(decision_id, str):
        raise ProofError("rows or decision_id missing")
    try:
        cp = verify_checkpoint(str(doc.get("checkpoint", "")), key, f"{source}#checkpoint")
    except NoteError as exc:
        raise ProofError(f"checkpoint: {exc}") from None
    prev_seq = prev_hash = None
    seqs: list[int] = []
    for i, r in enumerate(rows):
        if not isinstance(r, list) or len(r) != len(STORED_COLUMNS):
            raise ProofError(f"rows[{i}]: not a row of {len(STORED_COLUMNS)} columns")
        seq, ph, h = r[0], r[10], r[11]
        if prev_seq is not None and (seq != prev_seq + 1 or ph != prev_hash):
            raise ProofError(f"rows[{i}] (seq {seq}): does not follow seq {prev_seq}")
        try:
            ok = sha256(str(ph).encode("ascii") + stored_preimage(*r[:10])).hexdigest() == h
        except (TypeError, ValueError, UnicodeError):
            ok = False
        if not ok:
            raise ProofError(f"rows[{i}] (seq {seq}): its hash is not the hash of its columns")
        if r[3] == decision_id:
            seqs.append(seq)
        prev_seq, prev_hash = seq, h
    if rows[0][3] != decision_id or not seqs:
        raise ProofError(f"the segment does not start at an event of decision {decision_id}")
    if prev_seq != cp.size or prev_hash != cp.root_hash:
        raise ProofError(f"the segment ends at seq {prev_seq}, not at the signed head seq {cp.size}")
    return ProofResult(decision_id, tuple(seqs), cp)


def dumps(doc: dict[str, Any]) -> str:
    """The proof as the JSON text ``signoff audit prove`` writes."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
