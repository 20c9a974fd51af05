"""The ``signoff`` command line: one argparse tree, one place that turns errors into exit codes.

Each command group lives in its own module with a ``register(subparsers)`` function; a
command's handler returns the process exit status. Errors a user can cause print one line on
stderr and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from gateway.errors import SignoffError

__all__ = ["CommandError", "main"]

#: Modules under gateway.cli that contribute command groups, in help order.
_GROUPS = (
    "policy",
    "serve",
    "migrate",
    "decide",
    "review",
    "audit",
    "keys",
    "report",
    "export",
    "demo",
    "calibrate",
    "monitor",
    "gold",
    "subject",
)


class CommandError(SignoffError):
    """A command-line usage problem: printed as one line, exit status ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line instead of usage plus message."""

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The full ``signoff`` parser with every command group registered."""
    parser = _Parser(prog="signoff", description="Signoff: human-in-the-loop governance gateway.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _GROUPS:
        importlib.import_module(f"gateway.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``signoff`` command line and return its exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"signoff: {exc}" if not str(exc).startswith("signoff") else str(exc), file=sys.stderr)
        return exc.code
    except SignoffError as exc:
        print(f"signoff: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
