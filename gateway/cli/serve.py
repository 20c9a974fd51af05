"""``signoff serve``: run the gateway until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
import threading
from pathlib import Path

__all__ = ["register"]

#: After SIGTERM, in-flight calls get a grace period and the writer drains; past this, exit anyway.
SHUTDOWN_LIMIT_SECONDS = 30.0


def _env(name: str, default: str | None) -> str | None:
    return os.environ.get(name, default)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the command tree."""
    p = sub.add_parser("serve", help="run the gateway", description="Run the Signoff gRPC gateway.")
    p.add_argument(
        "--address",
        default=_env("SIGNOFF_ADDRESS", "127.0.0.1:50051"),
        help="host:port to listen on; port 0 picks a free one (env SIGNOFF_ADDRESS)",
    )
    p.add_argument(
        "--db",
        dest="database_url",
        default=_env("SIGNOFF_DATABASE_URL", "sqlite:///var/signoff.db"),
        help="SQLAlchemy URL: sqlite:///FILE (default var/signoff.db) or "
        "postgresql+psycopg://USER@HOST/DB (env SIGNOFF_DATABASE_URL)",
    )
    p.add_argument(
        "--policies",
        default=_env("SIGNOFF_POLICIES", "policies"),
        help="directory of routing policy YAML files (env SIGNOFF_POLICIES)",
    )
    p.add_argument(
        "--principals",
        default=_env("SIGNOFF_PRINCIPALS", "config/dev-principals.yaml"),
        help="principals file: token sha256 -> name and roles (env SIGNOFF_PRINCIPALS)",
    )
    p.add_argument(
        "--models",
        default=_env("SIGNOFF_MODELS", None),
        help="model bindings file (e.g. config/models.yaml) for policies whose proposal "
        "comes from a model (env SIGNOFF_MODELS)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=_env("SIGNOFF_METRICS_PORT", None),
        help="serve Prometheus metrics on this port (off when unset; env SIGNOFF_METRICS_PORT)",
    )
    p.add_argument("--metrics-address", default="127.0.0.1", help="address for the metrics port")
    p.add_argument("--tls-cert", default=_env("SIGNOFF_TLS_CERT", None), help="PEM certificate chain; TLS when set")
    p.add_argument("--tls-key", default=_env("SIGNOFF_TLS_KEY", None), help="PEM private key; TLS when set")
    p.add_argument(
        "--http-address",
        default=_env("SIGNOFF_HTTP_ADDRESS", None),
        help="serve the web console for reviewers and auditors on HOST:PORT (off when unset; env SIGNOFF_HTTP_ADDRESS)",
    )
    p.add_argument(
        "--http-idle-minutes",
        type=float,
        default=15.0,
        help="sign a console session out after this many idle minutes (default 15)",
    )
    p.add_argument(
        "--http-trusted-proxy-header",
        default=_env("SIGNOFF_HTTP_TRUSTED_PROXY_HEADER", ""),
        help="take the console user from this header set by an authenticating reverse proxy "
        "(e.g. X-Forwarded-User); off when unset. Risky: see the README",
    )
    p.add_argument(
        "--http-trusted-proxy",
        action="append",
        default=None,
        metavar="ADDRESS",
        help="client address the proxy header is believed from (repeatable; default 127.0.0.1 and ::1)",
    )
    p.add_argument("--reload-seconds", type=float, default=2.0, help="how often to look for policy changes")
    p.add_argument(
        "--sweep-seconds",
        type=float,
        default=5.0,
        help="how often lapsed leases are returned and due SLA timers fired (default 5)",
    )
    p.add_argument(
        "--monitor-seconds",
        type=float,
        default=300.0,
        help="recompute the drift and audited-error monitors for /metrics this often (0: off; default 300)",
    )
    p.add_argument(
        "--monitor-window-hours",
        type=float,
        default=24.0,
        help="the monitors' window; the reference is the window before it (default 24)",
    )
    p.add_argument("--monitor-alpha", type=float, default=None, help="the audited error's level: turns the alarm on")
    p.add_argument(
        "--monitor-record-alarms",
        action="store_true",
        help="record monitor_alarm_raised/cleared in the log when the alarm changes (one replica only)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        help="let several gateway processes on one database listen on the same port (SO_REUSEPORT; "
        "the kernel spreads connections over them). Off by default: a port in use is an error",
    )
    p.add_argument(
        "--writer",
        choices=("process", "thread"),
        default=os.environ.get("SIGNOFF_WRITER") or "process",
        help="where the write batches commit: 'process' (default), a child process of their own, "
        "off the serving GIL (a killed child is replaced); 'thread', a thread of this process. The "
        "same durability either way: an answer comes after the commit (env SIGNOFF_WRITER)",
    )
    p.add_argument(
        "--watch-poll",
        type=float,
        default=1.0,
        help="seconds between the gateway's looks for changes other processes committed (one "
        "query for all watchers and waiting Decides; on PostgreSQL replicas also notify each "
        "other at once; default 1). Each watcher also re-reads once a minute, as a backstop",
    )
    p.add_argument(
        "--log-level",
        default=_env("SIGNOFF_LOG_LEVEL", "info"),
        type=str.lower,
        choices=("debug", "info", "warning", "error"),
        help="info (the default) logs one line per completed RPC; warning only refusals of "
        "the reload, failures and the like; debug adds internals (env SIGNOFF_LOG_LEVEL)",
    )
    p.add_argument("--log-format", choices=("json", "console"), default="json", help="log line format")
    c = p.add_argument_group("signed checkpoints (see README: Trusting the log)")
    c.add_argument(
        "--signing-key",
        default=_env("SIGNOFF_SIGNING_KEY", "var/keys/checkpoint.key"),
        help="Ed25519 key file made by `signoff keys init` (env SIGNOFF_SIGNING_KEY)",
    )
    c.add_argument(
        "--init-signing-key",
        action="store_true",
        help="create the signing key first if it does not exist (the container image does; "
        "a replaced key shows when verify checks the published checkpoints)",
    )
    c.add_argument(
        "--no-checkpoints",
        action="store_true",
        help="serve without signed checkpoints: a cut tail of the log is then undetectable",
    )
    c.add_argument(
        "--checkpoints-dir",
        default=_env("SIGNOFF_CHECKPOINTS_DIR", "var/checkpoints"),
        help="append-only directory the checkpoints are published to (env SIGNOFF_CHECKPOINTS_DIR)",
    )
    c.add_argument(
        "--checkpoint-origin",
        default=_env("SIGNOFF_CHECKPOINT_ORIGIN", "signoff"),
        help="the origin line of the notes: this deployment's name (no spaces)",
    )
    c.add_argument("--checkpoint-events", type=int, default=1000, help="sign after this many new events")
    c.add_argument(
        "--checkpoint-seconds", type=float, default=10.0, help="sign new events after this many seconds at the latest"
    )
    c.add_argument(
        "--witness",
        default=_env("SIGNOFF_WITNESS_URL", None),
        help="tlog-witness base URL to send each checkpoint to (add-checkpoint)",
    )
    c.add_argument(
        "--allow-behind-checkpoint",
        action="store_true",
        help="serve even when the database is behind its last published checkpoint (logged)",
    )
    p.set_defaults(handler=run)


def _signing_key(args: argparse.Namespace) -> Path:
    """The signing key's path, made first when ``--init-signing-key`` asks and it is missing."""
    path = Path(args.signing_key)
    if args.init_signing_key and not path.exists():
        from gateway.cli.keys import _init

        _init(argparse.Namespace(key=str(path), name="signoff", if_missing=True))
    return path


def _port_free(address: str) -> bool:
    """False when ``address`` (host:port, port not 0) is already bound: gRPC would log from C first."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return True
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC binds: TIME_WAIT is no conflict
        try:
            probe.bind((host.strip("[]") or "0.0.0.0", int(port)))
        except OSError:
            return False
    return True


def run(args: argparse.Namespace) -> int:
    """Build the app from flags, serve, and shut down cleanly on a signal."""
    from gateway.bootstrap import Settings, build_app, configure_logging

    if not args.watch_poll > 0:
        print(
            f"signoff serve: --watch-poll must be a positive number of seconds, got {args.watch_poll}", file=sys.stderr
        )
        return 2
    if not (args.monitor_seconds >= 0 and args.monitor_window_hours > 0):
        print("signoff serve: --monitor-seconds must be >= 0 and --monitor-window-hours positive", file=sys.stderr)
        return 2
    if args.monitor_alpha is not None and not 0 < args.monitor_alpha < 1:
        print(f"signoff serve: --monitor-alpha must be in (0, 1), got {args.monitor_alpha}", file=sys.stderr)
        return 2
    if args.monitor_record_alarms and args.monitor_alpha is None:
        print("signoff serve: --monitor-record-alarms needs --monitor-alpha", file=sys.stderr)
        return 2
    if not (args.checkpoint_events > 0 and args.checkpoint_seconds > 0):
        print("signoff serve: --checkpoint-events and --checkpoint-seconds must be positive", file=sys.stderr)
        return 2
    if args.writer not in ("process", "thread"):  # argparse does not check a default from the environment
        print(
            f"signoff serve: --writer (or SIGNOFF_WRITER) must be process or thread, got {args.writer!r}",
            file=sys.stderr,
        )
        return 2
    configure_logging(args.log_level, json=args.log_format == "json")
    url = args.database_url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        address=args.address,
        database_url=url,
        policy_dir=Path(args.policies),
        principals_file=Path(args.principals),
        models_file=Path(args.models) if args.models else None,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        tls_cert=Path(args.tls_cert) if args.tls_cert else None,
        tls_key=Path(args.tls_key) if args.tls_key else None,
        reload_seconds=args.reload_seconds,
        sweep_seconds=args.sweep_seconds,
        page_token_key=os.environ.get("SIGNOFF_PAGE_TOKEN_KEY") or None,
        watch_poll=args.watch_poll,
        reuse_port=args.reuse_port,
        writer_process=args.writer == "process",
        monitor_seconds=args.monitor_seconds,
        monitor_window_hours=args.monitor_window_hours,
        monitor_alpha=args.monitor_alpha,
        monitor_record_alarms=args.monitor_record_alarms,
        signing_key=None if args.no_checkpoints else _signing_key(args),
        checkpoints_dir=Path(args.checkpoints_dir),
        checkpoint_origin=args.checkpoint_origin,
        checkpoint_events=args.checkpoint_events,
        checkpoint_seconds=args.checkpoint_seconds,
        witness_url=args.witness,
        allow_behind_checkpoint=args.allow_behind_checkpoint,
        http_address=args.http_address or None,
        http_idle_minutes=args.http_idle_minutes,
        http_trusted_proxy_header=args.http_trusted_proxy_header,
        http_trusted_proxies=tuple(args.http_trusted_proxy or ("127.0.0.1", "::1")),
    )
    if not args.reuse_port and not _port_free(args.address):
        print(f"signoff serve: {args.address} is in use (another gateway? --reuse-port shares it)", file=sys.stderr)
        return 1
    try:
        app = build_app(settings)
    except OSError as exc:  # the port, a certificate or the database file: one line, not a traceback
        print(f"signoff serve: {exc}", file=sys.stderr)
        return 1
    # Everything built so far (grpc, SQLAlchemy, protobuf descriptors, the compiled policies)
    # lives as long as the process: move it out of the cyclic collector's sight. A full
    # collection then walks only what requests leave behind, instead of stopping the event
    # loop for tens of milliseconds every second under load (it set the p99 of Decide).
    gc.collect()
    gc.freeze()

    def on_signal(signum: int, _frame: object) -> None:
        if app._stop.is_set():  # a second signal: stop now, whatever is still draining
            os._exit(128 + signum)
        app._stop.set()
        # A shutdown that hangs (a stuck database call) must not outlive the orchestrator's patience.
        watchdog = threading.Timer(SHUTDOWN_LIMIT_SECONDS, os._exit, args=(1,))
        watchdog.daemon = True
        watchdog.start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    host = args.address.rsplit(":", 1)[0]
    policies = ", ".join(f"{p.decision}={p.name}@v{p.version}" for p in app.registry.all())
    print(f"signoff: serving on {host}:{app.port} ({policies})", flush=True)
    if app.console is not None:
        print(f"signoff: console on {app.console.url}/", flush=True)  # type: ignore[attr-defined]
    if app.metrics_port is not None:
        print(f"signoff: metrics on http://{args.metrics_address}:{app.metrics_port}/metrics", flush=True)
    app.wait()
    app.stop()
    print("signoff: stopped", file=sys.stderr, flush=True)
    return 0
