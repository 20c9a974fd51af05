"""Cross-cutting work of every RPC on the asyncio server: request id, authentication, logging,
error mapping, and running blocking work off the event loop.

The server's handlers run on one event loop thread. ``Guard`` wraps each servicer method once,
at start-up, instead of a ``grpc.aio.ServerInterceptor`` (which is awaited per call on top of
the handler lookup): per call it reads the metadata, authenticates, binds the log context,
holds the request to the limits of ``gateway.rpc.limits``, maps a domain error to its status
code (the detail capped at ``MAX_DETAIL`` characters) and logs one ``rpc`` line at info when the
call ends (method, code, duration, principal, request id, and the decision id where bound).
The concerns stay separate functions below.

Bytes that do not decode as the method's request reach the guard as ``Undecodable`` (see
``safe_deserializer``), so the caller gets INVALID_ARGUMENT rather than grpc.aio's UNKNOWN.

Most RPCs are thin over blocking code (a database read, an audit query, a
watcher parked on the notifier): those run on a thread pool, each step in a copy of the call's
context so ``current_principal()`` and the log context follow the call there. The writes
(Decide, ClaimNext, Submit, Release) run on the loop and await their group commit instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import grpc.aio
import structlog
from google.protobuf.message import Message

from gateway.errors import InvalidRequest, SignoffError
from gateway.review.model import Principal
from gateway.rpc.auth import Authenticator
from gateway.rpc.errors import MAX_DETAIL, status_for
from gateway.rpc.limits import check_request
from gateway.rpc.metrics import Metrics

__all__ = ["Guard", "ThreadContext", "Undecodable", "capped", "current_principal", "safe_deserializer"]

T = TypeVar("T")
_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("signoff_principal")
log = structlog.get_logger("signoff.rpc")
_bind = structlog.contextvars.bind_contextvars
_END = object()


def current_principal() -> Principal:
    """The authenticated principal of the RPC being served."""
    return _principal.get()


def _request_id(metadata: Any) -> str:
    for key, value in metadata:
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    # A log correlation id, not a secret: no urandom system call per call.
    return f"{random.getrandbits(128):032x}"


class ThreadContext:
    """What blocking servicer code may ask of its call from a pool thread: is it still live?

    The aio context belongs to the event loop; this records its end through a done callback
    (a thread-safe flag) instead of calling into it from another thread.
    """

    __slots__ = ("_ended",)

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._ended = threading.Event()
        context.add_done_callback(lambda _ctx: self._ended.set())

    def is_active(self) -> bool:
        """False once the call has ended (answered, cancelled or timed out)."""
        return not self._ended.is_set()


class Guard:
    """Wraps servicer methods: authenticate, bind the log context, map errors to status codes.

    ``pool`` runs blocking work (``blocking``); its size bounds how many blocking calls (such
    as watchers waiting for a sign-off) run at once.
    """

    def __init__(self, auth: Authenticator, metrics: Metrics, pool: ThreadPoolExecutor) -> None:
        self.auth = auth
        self.metrics = metrics
        self.pool = pool

    # -- running blocking code ------------------------------------------------------------

    def blocking(self, fn: Callable[..., T], *args: Any) -> Awaitable[T]:
        """Run ``fn(*args)`` on the pool in a copy of the current context; await its result."""
        ctx = contextvars.copy_context()
        return asyncio.get_running_loop().run_in_executor(self.pool, ctx.run, fn, *args)

    # -- wrapping -------------------------------------------------------------------------

    def unary(self, method: str, behavior: Callable[[Any, Any], Awaitable[Any]]) -> Callable:
        """An async unary handler for ``method`` (the full ``/package.Service/Method`` name)."""

        async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = "OK"
            try:
                self._enter(method, context, request)
                return await behavior(request, context)
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception as exc:
                if isinstance(exc, grpc.aio.AbortError):
                    raise
                status, message = self._refusal(exc)
                code = status.name
                await context.abort(status, message)
            finally:
                self._done(code, started)

        return call

    def stream(self, method: str, behavior: Callable[[Any, Any], AsyncIterator[Any]]) -> Callable:
        """A server-streaming handler over an async iterator, on the event loop."""

        async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            code = "OK"
            try:
                self._enter(method, context, request)
                async for item in behavior(request, context):
                    yield item
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except Exception as exc:
                if isinstance(exc, grpc.aio.AbortError):
                    raise
                status, message = self._refusal(exc)
                code = status.name
                await context.abort(status, message)
            finally:
                self._done(code, started)

        return call

    def unary_blocking(self, method: str, behavior: Callable[[Any, Any], Any]) -> Callable:
        """A unary handler whose body is blocking: it runs on the pool."""

        async def run(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await self.blocking(behavior, request, ThreadContext(context))

        return self.unary(method, run)

    def stream_blocking(self, method: str, behavior: Callable[[Any, Any], Iterator[Any]]) -> Callable:
        """A server-streaming handler over a blocking iterator: each step runs on the pool."""

        async def steps(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            ctx = contextvars.copy_context()  # one context for every step, in order
            loop = asyncio.get_running_loop()
            thread_context = ThreadContext(context)
            responses = await loop.run_in_executor(self.pool, ctx.run, lambda: iter(behavior(request, thread_context)))
            while True:
                item = await loop.run_in_executor(self.pool, ctx.run, next, responses, _END)  # type: ignore[arg-type]  # next() is overloaded; run takes it
                if item is _END:
                    return
                yield item

        return self.stream(method, steps)

    # -- the concerns ---------------------------------------------------------------------

    def _enter(self, method: str, context: grpc.aio.ServicerContext, request: Any) -> Principal:
        """Authenticate, bind the call's log context (each call is its own asyncio task, so it
        has its own context: nothing bound here leaks into another call), then hold the request
        to the documented limits (``gateway.rpc.limits``)."""
        metadata = context.invocation_metadata() or ()
        request_id = _request_id(metadata)
        try:
            principal = self.auth.authenticate(metadata)
        except BaseException:
            _bind(request_id=request_id, method=method)
            raise
        _bind(request_id=request_id, method=method, principal=principal.name)
        _principal.set(principal)
        if isinstance(request, Undecodable):
            raise InvalidRequest("request", f"is not a valid {request.type_name} message")
        check_request(request)
        return principal

    def _done(self, code: str, started: float) -> None:
        """The one line every completed call logs, at info (its context carries the rest)."""
        log.info("rpc", code=code, duration_ms=round((time.perf_counter() - started) * 1000, 3))

    def _refusal(self, exc: BaseException) -> tuple[grpc.StatusCode, str]:
        """The status and the (capped) detail a failed call answers with."""
        if isinstance(exc, SignoffError):
            code = status_for(exc)
            message = capped(str(exc))
        else:
            code = grpc.StatusCode.INTERNAL
            log.error("rpc_failed", exc_info=exc)
            message = "internal error; see the gateway log"
        self.metrics.rpc_errors.labels(code.name).inc()
        if code is not grpc.StatusCode.INTERNAL:
            _bind(detail=message)
        return code, message


def capped(message: str, limit: int = MAX_DETAIL) -> str:
    """``message`` cut to ``limit`` characters with an ellipsis: a detail never echoes a whole field."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


class Undecodable:
    """What the deserializer hands over for bytes that are not the method's request message."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def safe_deserializer(message: type[Message]) -> Callable[[bytes], Any]:
    """``message.FromString`` that returns ``Undecodable`` instead of raising.

    grpc.aio answers a deserializer's exception with UNKNOWN and the exception's class name;
    the guard answers ``Undecodable`` with INVALID_ARGUMENT after authenticating the call.
    """
    parse = message.FromString
    name = message.DESCRIPTOR.full_name

    def deserialize(raw: bytes) -> Any:
        try:
            return parse(raw)
        except Exception:  # noqa: BLE001 - any parse failure (DecodeError, bad UTF-8, depth) is the caller's bytes
            return Undecodable(name)

    return deserialize
