"""``signoff keys init``: make the deployment's checkpoint signing key, in a file outside the database."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gateway.errors import InvalidRequest

__all__ = ["DEFAULT_KEY", "register"]

DEFAULT_KEY = "var/keys/checkpoint.key"
"""Where ``keys init`` writes and ``serve`` reads the private key (env SIGNOFF_SIGNING_KEY)."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``keys`` to the command tree."""
    p = sub.add_parser("keys", help="the checkpoint signing key")
    k = p.add_subparsers(dest="keys_command", metavar="ACTION", parser_class=type(p))
    k.required = True
    i = k.add_parser("init", help="make an Ed25519 signing key (private file mode 0600, public key beside it)")
    i.add_argument(
        "--key",
        default=os.environ.get("SIGNOFF_SIGNING_KEY", DEFAULT_KEY),
        help=f"private key file to create (env SIGNOFF_SIGNING_KEY; default {DEFAULT_KEY}); "
        "the public key goes to the same path with .pub",
    )
    i.add_argument("--name", default="signoff", help="key name in the notes (no spaces, no '+'; default signoff)")
    i.add_argument(
        "--if-missing", action="store_true", help="keep an existing key and exit 0 (for a run command that is repeated)"
    )
    i.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from audit.checkpoint import generate_key

    path = Path(args.key)
    if args.if_missing and path.exists():
        print(f"signing key {path} exists: kept")
        return 0
    try:
        key = generate_key(args.name)
    except ValueError as exc:
        raise InvalidRequest("--name", str(exc)) from None
    pub = path.with_name(path.name + ".pub")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidRequest("--key", f"{path} exists already: refusing to overwrite a signing key") from None
    except OSError as exc:
        raise InvalidRequest("--key", f"cannot create {path}: {exc.strerror}") from None
    try:
        os.write(fd, (key.encode() + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    pub.write_text(key.verifier.encode() + "\n", encoding="utf-8")
    print(f"signing key {path} (mode 0600; keep it off the database host's backups of the DB)")
    print(f"public key  {pub}: {key.verifier.encode()}")
    return 0
