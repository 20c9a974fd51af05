"""The composition root: build every part from settings and wire them; nothing runs at import."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
import yaml

from gateway.errors import InvalidRequest, PolicyError, StoreUnavailable
from gateway.registry import PolicyRegistry
from gateway.review.policies import record_policies
from gateway.review.service import ReviewService
from gateway.review.timers import fire_timeouts
from gateway.rpc.auth import Authenticator, parse_principals
from gateway.rpc.metrics import Metrics
from gateway.rpc.server import RpcServer, build_server
from gateway.runtime import LocalNotifier, SystemClock, UuidIds

if TYPE_CHECKING:
    from gateway.adapters.models.registry import ModelRegistry
    from gateway.adapters.sql_store import SqlStore

__all__ = ["App", "Settings", "build_app", "configure_logging", "load_principals"]


@dataclass(frozen=True)
class Settings:
    """Everything ``signoff serve`` can be told."""

    address: str = "127.0.0.1:50051"
    database_url: str = "sqlite:///var/signoff.db"
    policy_dir: Path = Path("policies")
    principals_file: Path = Path("config/dev-principals.yaml")
    models_file: Path | None = None
    """Model bindings (``--models``); without it a policy with ``proposal.source: model`` fails closed."""
    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"
    tls_cert: Path | None = None
    tls_key: Path | None = None
    reload_seconds: float = 2.0
    sweep_seconds: float = 5.0
    watch_poll: float = 1.0
    max_workers: int = 64
    reuse_port: bool = False
    """Share the gRPC port with other gateway processes (``SO_REUSEPORT``); see ``serve --reuse-port``."""
    writer_process: bool = False
    """Commit the write batches in a child process, off this GIL (``serve --writer process``,
    the command's default). False here: a gateway built in a test or a bench keeps its writer
    a thread unless it asks, and starts without a second interpreter."""
    monitor_seconds: float = 300.0
    """How often the drift and audited-error monitors are recomputed for ``/metrics`` (0: never)."""
    monitor_window_hours: float = 24.0
    """The monitors' current window (the reference window is the same length just before it)."""
    monitor_alpha: float | None = None
    """The audited error's level; with it the alarm gauge is live (``--monitor-alpha``)."""
    monitor_record_alarms: bool = False
    """Record alarm raised/cleared events in the log (turn on in one replica only)."""
    page_token_key: str | None = None
    """Signs audit page tokens (at least 32 characters; the same on every replica). Unset: a
    random key per process, so tokens stop working when the gateway restarts."""
    signing_key: Path | None = None
    """The checkpoint signing key file; None: no signed checkpoints (``--no-checkpoints``)."""
    checkpoints_dir: Path = Path("var/checkpoints")
    checkpoint_origin: str = "signoff"
    checkpoint_events: int = 1000
    checkpoint_seconds: float = 10.0
    witness_url: str | None = None
    allow_behind_checkpoint: bool = False
    http_address: str | None = None
    """Serve the web console here (HOST:PORT); off when None."""
    http_idle_minutes: float = 15.0
    http_trusted_proxy_header: str = ""
    """Take the console user's name from this header set by an authenticating proxy; off when empty."""
    http_trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass
class App:
    """A running gateway: stop it with ``stop()``."""

    rpc: RpcServer
    service: ReviewService
    registry: PolicyRegistry
    metrics: Metrics
    store: object
    engine: object
    metrics_port: int | None = None
    console: object | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _closers: list = field(default_factory=list)
    _closed: bool = False
    _threads: list[threading.Thread] = field(default_factory=list)
    checkpointer: object | None = None

    @property
    def port(self) -> int:
        """The port the gRPC server is bound to."""
        return self.rpc.port

    @property
    def http_port(self) -> int | None:
        """The port the web console is bound to, or None when it is off."""
        return None if self.console is None else self.console.port  # type: ignore[attr-defined]

    def wait(self) -> None:
        """Block until ``stop`` is called."""
        self._stop.wait()

    def stop(self) -> None:
        """Stop serving, then drain the writer and close the database."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self.console is not None:  # no new sign-offs from the browser while draining
            self.console.stop()  # type: ignore[attr-defined]
        for close in self._closers:  # the replica listener and metrics first: the loop still runs
            close()
        self.rpc.stop()
        for t in self._threads:
            t.join(timeout=5)
        self.store.close()  # type: ignore[attr-defined]
        if self.checkpointer is not None:  # after the writer drained: the final head is signed
            try:
                self.checkpointer.checkpoint()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - shutdown goes on; the failure is logged
                structlog.get_logger("signoff.checkpoints").exception("checkpoint_at_shutdown_failed")
        self.engine.dispose()  # type: ignore[attr-defined]


def configure_logging(level: str = "info", json: bool = True) -> None:
    """structlog JSON lines on stderr, with the per-call context merged in."""
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def load_principals(path: Path) -> Authenticator:
    """Read the principals file; a missing or malformed file names itself in one line."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidRequest(str(path), f"cannot read principals file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidRequest(str(path), f"not valid YAML: {str(exc).splitlines()[0]}") from None
    return Authenticator.from_entries(parse_principals(doc, str(path)))


def _read_tls(settings: Settings) -> tuple[bytes, bytes] | None:
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise InvalidRequest("--tls-cert/--tls-key", "give both or neither")
    try:
        return settings.tls_key.read_bytes(), settings.tls_cert.read_bytes()
    except OSError as exc:
        raise InvalidRequest(str(exc.filename), f"cannot read: {exc.strerror}") from None


async def _sweep(service: ReviewService, metrics: Metrics) -> None:
    """One turn of the background sweep: lapsed leases back to their queues, then due SLA timers."""
    await service.expire_leases()
    for queue, action in await fire_timeouts(service):
        metrics.sla_breaches.labels(queue, action).inc()
        structlog.get_logger("signoff.timers").info("sla_timeout_fired", queue=queue, action=action)


MIN_PAGE_TOKEN_KEY = 32

WATCH_BACKSTOP_SECONDS = 60.0
"""How often a watcher re-reads its own decision when nothing woke it: a backstop only. The
change feed (``adapters/watch_feed.py``) looks for other processes' commits every
``watch_poll`` seconds with one query for all watchers."""


def _page_token_key(value: str | None) -> bytes | None:
    """The configured page-token key as bytes; a short one is refused in one line."""
    if value is None:
        return None
    if len(value) < MIN_PAGE_TOKEN_KEY:
        raise InvalidRequest("SIGNOFF_PAGE_TOKEN_KEY", f"must be at least {MIN_PAGE_TOKEN_KEY} characters")
    return value.encode()


def _refresh_monitors(  # type: ignore[no-untyped-def]
    settings: Settings, engine, registry: PolicyRegistry, store, collector, clock
) -> None:
    """Recompute every loaded decision type's monitors for ``/metrics`` (and record alarm changes)."""
    from gateway.reports.monitoring import build_monitor, recorded_alarms
    from gateway.review.alarms import plan_alarm_events

    now = clock.now()
    window = timedelta(hours=settings.monitor_window_hours)
    results = []
    for policy in registry.all():
        with engine.connect() as conn:
            mon = build_monitor(
                conn,
                policy.decision,
                (now - 2 * window, now - window),
                (now - window, now),
                settings.monitor_alpha,
                0.05,
            )
            recorded = recorded_alarms(conn, policy.decision) if settings.monitor_record_alarms else {}
        results.append(mon)
        if settings.monitor_record_alarms and settings.monitor_alpha is not None:
            change = plan_alarm_events(policy.decision, mon["models"], recorded, now, "signoff-monitor")
            if change:
                asyncio.run(store.apply(change))
    collector.update(results)


def _every(stop: threading.Event, seconds: float, fn, name: str) -> threading.Thread:  # type: ignore[no-untyped-def]
    log = structlog.get_logger("signoff.bootstrap")

    def loop() -> None:
        while not stop.wait(seconds):
            try:
                fn()
            except StoreUnavailable as exc:
                log.warning(f"{name}_failed", error=str(exc))
            except Exception:
                log.exception(f"{name}_failed")

    t = threading.Thread(target=loop, name=name, daemon=True)
    t.start()
    return t


def _start_console(
    settings: Settings, service: ReviewService, reader: object, auth: Authenticator, engine: object
) -> object:
    """Serve the web console on ``settings.http_address`` in this process (same use cases)."""
    from gateway.console import Console, ConsoleConfig, ConsoleServer, build_console_app
    from gateway.reports.html import render_html
    from gateway.reports.report import build_report

    if settings.http_idle_minutes <= 0:
        raise InvalidRequest("--http-idle-minutes", "must be positive")
    by_name = {p.name: p for p in auth.by_hash.values()}
    config = ConsoleConfig(
        idle_seconds=settings.http_idle_minutes * 60,
        secure_cookies=settings.tls_cert is not None,
        trusted_proxy_header=settings.http_trusted_proxy_header,
        trusted_proxy_addresses=frozenset(settings.http_trusted_proxies),
    )
    console = Console(
        service=service,
        tokens=auth,
        principal_named=by_name.get,
        reader=reader,
        report=lambda start, end, verify: build_report(engine, start, end, verify=verify, source="console"),  # type: ignore[arg-type]
        report_html=render_html,
        config=config,
    )
    tls = (settings.tls_cert, settings.tls_key) if settings.tls_cert and settings.tls_key else None
    try:
        server = ConsoleServer(build_console_app(console), settings.http_address or "", tls=tls)
        server.console = console  # type: ignore[attr-defined]  # the sessions, for operators and tests
        server.start()
    except (ValueError, OSError) as exc:
        raise InvalidRequest("--http-address", str(exc).removeprefix("--http-address: ")) from None
    structlog.get_logger("signoff.bootstrap").info("console_serving", url=server.url)
    return server


def _models(path: Path | None, registry: PolicyRegistry, metrics: Metrics) -> ModelRegistry | None:
    """The model bindings, checked against the loaded policies; PolicyError lists every issue."""
    from gateway.adapters.models.bindings import check_policies
    from gateway.adapters.models.caller import ModelMetrics
    from gateway.adapters.models.registry import ModelRegistry

    models = ModelRegistry(path, ModelMetrics(metrics.registry)) if path is not None else None
    policies = registry.all()
    issues = check_policies(policies, models.bindings if models else None)
    if models is not None and issues:
        raise PolicyError(issues)
    return models


def _store(engine: Any, writer_process: bool, on_commit: Callable[[set[str]], None]) -> SqlStore:
    """The SQL store: its writer a thread of this process, or a child process of its own."""
    from gateway.adapters.sql_store import SqlStore

    if not writer_process:
        return SqlStore(engine, on_commit=on_commit)
    from gateway.adapters.writer_process import ProcessSqlStore, WriterProcessGone

    try:
        return ProcessSqlStore(engine, on_commit=on_commit)
    except WriterProcessGone as exc:
        raise StoreUnavailable(str(exc)) from exc


def build_app(settings: Settings) -> App:
    """Build and start the gateway; raise a ``SignoffError`` with one clear line on bad config."""
    from gateway.adapters.audit_reader import SqlAuditReader
    from gateway.adapters.checkpointer import Checkpointer, check_not_behind, load_signer
    from gateway.adapters.db import make_engine, upgrade
    from gateway.reports.explain import load_trail

    auth = load_principals(settings.principals_file)
    tls = _read_tls(settings)
    token_key = _page_token_key(settings.page_token_key)
    signer = load_signer(settings.signing_key) if settings.signing_key is not None else None
    engine = make_engine(settings.database_url)
    upgrade(engine)
    if signer is not None:
        try:
            check_not_behind(
                engine, settings.checkpoints_dir, signer.verifier, override=settings.allow_behind_checkpoint
            )
        except BaseException:
            engine.dispose()
            raise
    notifier = LocalNotifier()
    try:
        store = _store(engine, settings.writer_process, notifier.notify)
    except BaseException:
        engine.dispose()
        raise
    clock = SystemClock()
    try:
        registry = PolicyRegistry(settings.policy_dir, lambda ps: asyncio.run(record_policies(store, clock, ps)))
        registry.load()
    except BaseException:
        store.close()
        engine.dispose()
        raise
    metrics = Metrics()
    try:
        models = _models(settings.models_file, registry, metrics)
    except BaseException:
        store.close()
        engine.dispose()
        raise
    from gateway.adapters.personal import SqlPersonalData

    service = ReviewService(
        store,
        registry,
        clock,
        UuidIds(),
        notifier,
        watch_poll=max(settings.watch_poll, WATCH_BACKSTOP_SECONDS),  # the feed below looks every watch_poll
        models=models,
        personal=SqlPersonalData(engine, clock.now),
    )
    metrics.watch_policies(lambda: registry.missing)
    metrics.watch_queues(lambda: (clock.now(), store.read(lambda tx: tx.queue_depths(clock.now()))))
    audit_reader = SqlAuditReader(engine, load_trail, token_key=token_key)
    metrics.watch_reviewers(audit_reader.reviewer_stats)
    reader = audit_reader
    rpc = build_server(
        settings.address,
        service,
        audit_reader,
        auth,
        metrics,
        tls=tls,
        max_workers=settings.max_workers,
        reuse_port=settings.reuse_port,
    )

    def reloaded(ok: bool, error: str) -> None:
        rpc.set_policy_health(ok)
        if not ok:
            metrics.reload_errors.inc()

    registry.on_reload = reloaded
    app = App(rpc=rpc, service=service, registry=registry, metrics=metrics, store=store, engine=engine)
    if engine.dialect.name == "postgresql":  # other replicas' sign-offs wake our watchers at once
        from gateway.adapters.pg_listen import libpq_url, listen

        task = asyncio.run_coroutine_threadsafe(listen(libpq_url(engine.url), notifier.notify), rpc.loop)
        app._closers.insert(0, task.cancel)
    if settings.metrics_port is not None:
        from prometheus_client import start_http_server

        httpd, _ = start_http_server(settings.metrics_port, addr=settings.metrics_address, registry=metrics.registry)
        app.metrics_port = httpd.server_port
        app._closers.append(httpd.shutdown)
    if signer is not None:
        import time

        cp = Checkpointer(
            engine,
            signer,
            settings.checkpoints_dir,
            settings.checkpoint_origin,
            every_events=settings.checkpoint_events,
            every_seconds=settings.checkpoint_seconds,
            witness_url=settings.witness_url,
        )
        app.checkpointer = cp
        tick = min(1.0, settings.checkpoint_seconds)
        app._threads.append(_every(app._stop, tick, lambda: cp.tick(time.monotonic()), "checkpoint"))
    if settings.http_address:
        try:
            app.console = _start_console(settings, service, reader, auth, engine)
        except BaseException:
            app.stop()
            raise
    app._threads.append(_every(app._stop, settings.reload_seconds, registry.refresh, "policy_reload"))
    if models is not None:
        app._threads.append(
            _every(app._stop, settings.reload_seconds, lambda: models.refresh(registry.all), "model_bindings_reload")
        )
    if settings.monitor_seconds > 0:
        from gateway.reports.monitor_gauges import MonitorCollector  # numpy and scipy: only when on

        monitors = MonitorCollector()
        metrics.registry.register(monitors)
        app._threads.append(
            _every(
                app._stop,
                settings.monitor_seconds,
                lambda: _refresh_monitors(settings, engine, registry, store, monitors, clock),
                "monitor",
            )
        )
    app._threads.append(
        _every(app._stop, settings.sweep_seconds, lambda: asyncio.run(_sweep(service, metrics)), "lease_sweep")
    )
    from gateway.adapters.watch_feed import ChangeFeed

    feed = ChangeFeed(engine, notifier.notify, lambda: notifier.watched)
    app._threads.append(_every(app._stop, settings.watch_poll, feed.poll, "watch_feed"))
    return app
