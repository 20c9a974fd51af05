"""``signoff audit prove`` and ``check-proof``: a decision's events, provably in the signed log, offline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from gateway.errors import InvalidRequest, NotFound, PreconditionFailed

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``prove`` and ``check-proof`` under ``signoff audit``."""
    p = sub.add_parser("prove", help="the chain segment from a decision's events to the next signed checkpoint")
    p.add_argument("decision_id")
    p.add_argument(
        "--db",
        default=os.environ.get("SIGNOFF_DATABASE_URL", "sqlite:///var/signoff.db"),
        help="database URL (env SIGNOFF_DATABASE_URL)",
    )
    p.add_argument("--out", default="-", help="file to write the proof to (default: stdout)")
    p.set_defaults(handler=_prove)
    c = sub.add_parser("check-proof", help="check a proof offline against the deployment's public key")
    c.add_argument("file")
    c.add_argument("--public-key", required=True, help="the public key file (from `signoff keys init`)")
    c.set_defaults(handler=_check)


def _prove(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from audit.proof import build_proof, dumps
    from audit.schema import audit_events, checkpoints
    from gateway.adapters.db import make_engine

    e, c = audit_events.c, checkpoints.c
    engine = make_engine(args.db)
    try:
        from audit.store import AuditLog

        with engine.connect() as conn:
            seqs = conn.execute(select(e.seq).where(e.decision_id == args.decision_id).order_by(e.seq)).scalars().all()
            if not seqs:
                raise NotFound(f"no events of decision {args.decision_id!r}")
            cover = conn.execute(
                select(c.seq, c.note).where(c.kind == "published", c.seq >= seqs[-1]).order_by(c.seq).limit(1)
            ).first()
            if cover is None:
                newest = conn.execute(
                    select(c.seq).where(c.kind == "published").order_by(c.seq.desc()).limit(1)
                ).scalar()
                raise PreconditionFailed(
                    f"decision {args.decision_id}'s last event is seq {seqs[-1]}, and no checkpoint covers it yet "
                    f"(newest signed: {newest or 'none'}); try again after the next checkpoint"
                )
            rows = [r for batch in AuditLog()._stored_batches(conn, seqs[0] - 1, int(cover.seq)) for r in batch]
    finally:
        engine.dispose()
    text = dumps(build_proof(args.decision_id, rows, cover.note))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"proof of {args.decision_id}: {len(rows)} events, seq {seqs[0]}..{cover.seq}, written to {args.out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from audit.proof import ProofError, check_proof
    from gateway.cli.audit_anchor import load_verifier

    key = load_verifier(Path(args.public_key))
    try:
        doc = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequest("FILE", f"cannot read {args.file}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest("FILE", f"{args.file}:{exc.lineno}: not JSON: {exc.msg}") from None
    try:
        res = check_proof(doc, key, args.file)
    except ProofError as exc:
        print(f"PROOF FAILED: {args.file}: {exc}")
        return 1
    print(
        f"proof ok: decision {res.decision_id}'s events (seq {', '.join(map(str, res.seqs))}) are in the log "
        f"signed at seq {res.checkpoint.size} ({res.checkpoint.origin}, {res.checkpoint.time}) by "
        f"{key.name}+{key.id.hex()}"
    )
    return 0
