"""Shared plumbing of the client commands: flags, the channel, the token, and RPC errors."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import grpc
from google.protobuf import json_format

from gateway.cli import CommandError

__all__ = ["add_connection_flags", "call", "channel", "metadata", "parse_json_arg", "to_json"]

T = TypeVar("T")


def add_connection_flags(p: argparse.ArgumentParser, token_env: str = "SIGNOFF_TOKEN") -> None:
    """--address, --token and --tls-ca, each with an environment default."""
    p.add_argument(
        "--address",
        default=os.environ.get("SIGNOFF_ADDRESS", "127.0.0.1:50051"),
        help="gateway host:port (env SIGNOFF_ADDRESS)",
    )
    p.add_argument("--token", default=os.environ.get(token_env), help=f"bearer token (env {token_env})")
    p.add_argument(
        "--tls-ca",
        default=os.environ.get("SIGNOFF_TLS_CA"),
        help="PEM root certificate; connects with TLS when set (env SIGNOFF_TLS_CA)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer")


def metadata(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """The call metadata: the bearer token."""
    if not args.token:
        raise CommandError("no token: pass --token or set SIGNOFF_TOKEN", code=2)
    return (("authorization", f"Bearer {args.token}"),)


@contextmanager
def channel(args: argparse.Namespace) -> Iterator[grpc.Channel]:
    """A channel to the gateway, closed on exit."""
    if args.tls_ca:
        try:
            root = Path(args.tls_ca).read_bytes()
        except OSError as exc:
            raise CommandError(f"{args.tls_ca}: cannot read: {exc.strerror}", code=2) from None
        ch = grpc.secure_channel(args.address, grpc.ssl_channel_credentials(root_certificates=root))
    else:
        ch = grpc.insecure_channel(args.address)
    try:
        yield ch
    finally:
        ch.close()


def call(fn: Callable[[], T]) -> T:
    """Run an RPC; a failure becomes one line (status and detail) and exit status 1."""
    try:
        return fn()
    except grpc.RpcError as exc:
        code = exc.code().name if hasattr(exc, "code") and exc.code() else "UNKNOWN"
        detail = exc.details() if hasattr(exc, "details") else str(exc)
        if code == "UNAVAILABLE":
            detail = f"{detail} (is the gateway running?)"
        raise CommandError(f"{code}: {detail}", code=1) from None


def parse_json_arg(text: str, flag: str) -> Any:
    """A JSON flag value, or '@FILE' to read it from a file; bad JSON is one clear line."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"{flag}: cannot read {text[1:]}: {exc.strerror}", code=2) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(
            f"{flag}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", code=2
        ) from None


def to_json(message: Any) -> str:
    """A protobuf message as compact JSON with the proto field names."""
    return json.dumps(json_format.MessageToDict(message, preserving_proto_field_name=True), sort_keys=True)
