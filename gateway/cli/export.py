"""``signoff export``: placeholder until the auditor's desk lands."""

from __future__ import annotations

import argparse

from gateway.cli import CommandError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``export`` to the command tree."""
    p = sub.add_parser("export", help="(not built yet)")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    raise CommandError("signoff export is not built yet", code=2)
