"""Build the gRPC server: servicers, the call guard, health, reflection, limits, TLS.

The server is ``grpc.aio`` on an event loop of its own thread (``signoff-rpc``), so the rest of
the gateway (the reload and sweep threads, the CLI, the tests) keeps a plain blocking API:
``build_server`` returns once the port is bound and serving, ``RpcServer.stop`` once it is down.

Why asyncio: a Decide is a little Python around one durable write. On the thread-pool server
every Decide passed the poller thread, a pool thread, the writer thread and back, and those
hand-offs (a futex wake-up and a context switch each, with 64 handler threads fighting for the
GIL) cost more than the work itself (``bench/RESULTS.md``, round 4: 34-42% less CPU per Decide
after the change). Here the Decide handlers run on the loop,
queue their write and await it; the writer settles a whole batch's futures with one call into
the loop. ClaimNext, Submit and Release await their writes the same way; everything else
(reads, watchers, audit queries) is blocking code run on a thread pool.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from gateway.review.service import ReviewService
from gateway.rpc.audit_servicer import AuditReader, AuditServicer
from gateway.rpc.auth import Authenticator
from gateway.rpc.calls import Guard, safe_deserializer
from gateway.rpc.metrics import Metrics
from gateway.rpc.servicers import DecisionServicer, PolicyServicer, ReviewServicer
from signoff.v1 import audit_pb2, decision_pb2, policy_pb2, review_pb2

__all__ = ["POLICY_HEALTH", "MAX_MESSAGE_BYTES", "RpcServer", "build_server"]

#: The transport refuses larger messages with RESOURCE_EXHAUSTED before any handler runs;
#: smaller but still oversized fields are refused by the handlers with INVALID_ARGUMENT.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
#: Health name that turns NOT_SERVING while the last policy reload was refused.
POLICY_HEALTH = "signoff.policies"

_DESCRIPTORS: tuple[ServiceDescriptor, ...] = (
    decision_pb2.DESCRIPTOR.services_by_name["DecisionService"],
    review_pb2.DESCRIPTOR.services_by_name["ReviewService"],
    audit_pb2.DESCRIPTOR.services_by_name["AuditService"],
    policy_pb2.DESCRIPTOR.services_by_name["PolicyService"],
)
_SERVICES = tuple(d.full_name for d in _DESCRIPTORS)
_OPTIONS = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
)


@dataclass
class RpcServer:
    """A started server on its own event loop thread, its bound port, and its health servicer."""

    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    pool: futures.ThreadPoolExecutor
    _stopped: bool = field(default=False)

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float | None = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def set_policy_health(self, ok: bool) -> None:
        """Show the outcome of the last policy reload under ``signoff.policies``."""
        status = health_pb2.HealthCheckResponse.SERVING if ok else health_pb2.HealthCheckResponse.NOT_SERVING
        if not self._stopped:
            self._run(self.health.set(POLICY_HEALTH, status))

    def stop(self, grace: float | None = 2.0) -> None:
        """Stop accepting calls and finish the ones in flight within ``grace`` seconds."""
        if self._stopped:
            return
        self._stopped = True

        async def shutdown() -> None:
            await self.health.enter_graceful_shutdown()
            await self.server.stop(grace)

        try:
            self._run(shutdown(), None)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            if not self.thread.is_alive():
                self.loop.close()
            self.pool.shutdown(wait=False, cancel_futures=True)


def _add_service(
    server: grpc.aio.Server,
    descriptor: ServiceDescriptor,
    servicer: Any,
    guard: Guard,
    on_loop: dict[str, Callable[[Any, Any], Any]] | None = None,
) -> None:
    """Register the service's methods as guarded async handlers: ``on_loop`` ones are
    coroutines run on the event loop; the rest are the servicer's blocking methods, run on the
    pool. Requests are parsed by ``safe_deserializer`` (not the generated ``FromString``), so
    undecodable bytes become INVALID_ARGUMENT in the guard instead of grpc.aio's UNKNOWN."""
    on_loop = on_loop or {}
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for m in descriptor.methods:
        full = f"/{descriptor.full_name}/{m.name}"
        request = GetMessageClass(m.input_type)
        response = GetMessageClass(m.output_type)
        parse, emit = safe_deserializer(request), response.SerializeToString
        if m.name in on_loop and m.server_streaming:
            fn = guard.stream(full, on_loop[m.name])
        elif m.name in on_loop:
            fn = guard.unary(full, on_loop[m.name])
        elif m.server_streaming:
            fn = guard.stream_blocking(full, getattr(servicer, m.name))
        else:
            fn = guard.unary_blocking(full, getattr(servicer, m.name))
        if m.server_streaming:
            handlers[m.name] = grpc.unary_stream_rpc_method_handler(
                fn, request_deserializer=parse, response_serializer=emit
            )
        else:
            handlers[m.name] = grpc.unary_unary_rpc_method_handler(
                fn, request_deserializer=parse, response_serializer=emit
            )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(descriptor.full_name, handlers),))
    server.add_registered_method_handlers(descriptor.full_name, handlers)


async def _start(
    address: str,
    service: ReviewService,
    audit: AuditReader,
    auth: Authenticator,
    metrics: Metrics,
    tls: tuple[bytes, bytes] | None,
    pool: futures.ThreadPoolExecutor,
    reuse_port: bool,
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    options = _OPTIONS if not reuse_port else (*_OPTIONS[:-1], ("grpc.so_reuseport", 1))
    server = grpc.aio.server(options=options)
    guard = Guard(auth, metrics, pool)
    asyncio.get_running_loop().set_default_executor(pool)  # the use cases' reads run here
    decisions = DecisionServicer(service, metrics)
    decision_d, review_d, audit_d, policy_d = _DESCRIPTORS
    on_loop: dict[str, Callable[[Any, Any], Any]] = {
        "Decide": decisions.decide,
        "GetDecision": decisions.get_decision,
        "WatchDecision": decisions.watch_decision,
        "ContestDecision": decisions.contest_decision,
    }
    _add_service(server, decision_d, decisions, guard, on_loop)
    reviews = ReviewServicer(service, metrics)
    on_loop = {
        "ListTasks": reviews.list_tasks,
        "ClaimNext": reviews.claim_next,
        "Submit": reviews.submit,
        "Release": reviews.release,
        "RenewLease": reviews.renew_lease,
        "ReopenDecision": reviews.reopen_decision,
        "RecordInitialOutcome": reviews.record_initial_outcome,
    }
    _add_service(server, review_d, reviews, guard, on_loop)
    _add_service(server, audit_d, AuditServicer(audit), guard)
    _add_service(server, policy_d, PolicyServicer(service), guard)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((*_SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        if tls is not None:
            port = server.add_secure_port(address, grpc.ssl_server_credentials([tls]))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise OSError(f"could not bind {address}")
    await server.start()
    for name in ("", *_SERVICES, POLICY_HEALTH):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def build_server(
    address: str,
    service: ReviewService,
    audit: AuditReader,
    auth: Authenticator,
    metrics: Metrics,
    *,
    tls: tuple[bytes, bytes] | None = None,
    max_workers: int = 64,
    reuse_port: bool = False,
) -> RpcServer:
    """Create, bind and start the server; ``tls`` is (private key PEM, certificate chain PEM).

    ``max_workers`` threads run the blocking RPCs (reads, reviews, watchers); Decide does not
    take one unless it waits for a sign-off. ``reuse_port`` lets other processes bind the same
    port (``SO_REUSEPORT``: the kernel spreads connections over them); off, a second gateway on
    a port in use fails to start instead of silently sharing it.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="signoff-rpc", daemon=True)
    thread.start()
    pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rpc")
    started = asyncio.run_coroutine_threadsafe(
        _start(address, service, audit, auth, metrics, tls, pool, reuse_port), loop
    )
    try:
        server, port, health_servicer = started.result(30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        pool.shutdown(wait=False)
        raise
    return RpcServer(server=server, port=port, health=health_servicer, loop=loop, thread=thread, pool=pool)
