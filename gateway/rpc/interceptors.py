"""Cross-cutting work of every RPC: request id, authentication, logging and error mapping.

It is one interceptor rather than a chain of four because each layer of wrapping costs a
Python call per request on the hot path; the four concerns stay separate functions below.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import structlog

from gateway.errors import SignoffError
from gateway.review.model import Principal
from gateway.rpc.auth import Authenticator
from gateway.rpc.errors import status_for
from gateway.rpc.metrics import Metrics

__all__ = ["CallInterceptor", "current_principal"]

_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("signoff_principal")
_PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
log = structlog.get_logger("signoff.rpc")


def current_principal() -> Principal:
    """The authenticated principal of the RPC being served."""
    return _principal.get()


def _request_id(metadata: tuple[tuple[str, Any], ...]) -> str:
    for key, value in metadata:
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    # A log correlation id, not a secret: no urandom system call (it drops the GIL) per call.
    return f"{random.getrandbits(128):032x}"


def _debug_enabled() -> bool:
    """Whether the configured structlog logger emits debug (the per-call timing line)."""
    try:
        return bool(log.is_enabled_for(logging.DEBUG))
    except AttributeError:  # pragma: no cover - a logger without level filtering
        return True


class CallInterceptor(grpc.ServerInterceptor):
    """Authenticates, binds the request context to logs, and maps domain errors to status codes."""

    def __init__(self, auth: Authenticator, metrics: Metrics) -> None:
        self.auth = auth
        self.metrics = metrics

    def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(details)
        if handler is None or details.method.startswith(_PUBLIC_PREFIXES):
            return handler
        method = details.method
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _enter(self, method: str, context: grpc.ServicerContext) -> Principal:
        """Authenticate and bind the call's log context; run inside the call's own context.

        Each call runs in a fresh ``contextvars.Context``, so nothing bound by an earlier
        call on the same pool thread can leak into this one and no clearing is needed.
        """
        metadata = context.invocation_metadata() or ()
        request_id = _request_id(metadata)
        try:
            principal = self.auth.authenticate(metadata)
        except BaseException:
            _bind(request_id=request_id, method=method)
            raise
        _bind(request_id=request_id, method=method, principal=principal.name)
        _principal.set(principal)
        return principal

    def _fail(self, context: grpc.ServicerContext, exc: BaseException) -> None:
        if isinstance(exc, SignoffError):
            code = status_for(exc)
            log.info("rpc_refused", code=code.name, detail=str(exc))
        else:
            code = grpc.StatusCode.INTERNAL
            log.exception("rpc_failed")
        self.metrics.rpc_errors.labels(code.name).inc()
        message = str(exc) if isinstance(exc, SignoffError) else "internal error; see the gateway log"
        context.abort(code, message)

    def _unary(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                self._enter(method, context)
                return behavior(request, context)
            except Exception as exc:  # noqa: BLE001 - mapped to a status, never a traceback to the caller
                if _is_abort(exc, context):
                    raise
                self._fail(context, exc)
            finally:
                if _debug_enabled():
                    log.debug("rpc", duration_ms=round((time.perf_counter() - started) * 1000, 3))

        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            return contextvars.Context().run(call, request, context)

        return wrapped

    def _stream(self, method: str, behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]]) -> Callable:
        def wrapped(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            ctx = contextvars.Context()  # the call's own context, entered for each step
            try:
                ctx.run(self._enter, method, context)
                responses = ctx.run(behavior, request, context)
                while True:
                    try:
                        item = ctx.run(next, responses)
                    except StopIteration:
                        return
                    yield item
            except Exception as exc:  # noqa: BLE001 - mapped to a status, never a traceback to the caller
                if _is_abort(exc, context):
                    raise
                ctx.run(self._fail, context, exc)

        return wrapped


_bind = structlog.contextvars.bind_contextvars


def _is_abort(exc: BaseException, context: grpc.ServicerContext) -> bool:
    """True when ``exc`` is the exception ``context.abort`` raised on purpose."""
    return type(exc).__name__ == "_AbortException" or (
        isinstance(exc, Exception) and not isinstance(exc, SignoffError) and context.code() is not None
    )
