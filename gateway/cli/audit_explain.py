"""``signoff audit explain DECISION_ID``: one decision's whole story in plain words (placeholder)."""

from __future__ import annotations

import argparse

from gateway.cli import CommandError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` under ``signoff audit``."""
    p = sub.add_parser("explain", help="one decision's trail in plain words (not built yet)")
    p.add_argument("decision_id")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    raise CommandError("signoff audit explain is not built yet", code=2)
