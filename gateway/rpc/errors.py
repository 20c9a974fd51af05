"""The one table from the gateway's exception tree to gRPC status codes."""

from __future__ import annotations

import grpc

from gateway import errors

__all__ = ["MAX_DETAIL", "STATUS_FOR", "status_for"]

MAX_DETAIL = 200
"""Characters of a status detail; longer ones are cut with an ellipsis (never a whole field)."""

#: Most specific first; a test checks every SignoffError subclass is covered.
STATUS_FOR: dict[type[errors.SignoffError], grpc.StatusCode] = {
    errors.UnknownDecisionType: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.Conflict: grpc.StatusCode.ALREADY_EXISTS,
    errors.Stale: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    errors.StoreUnavailable: grpc.StatusCode.UNAVAILABLE,
    errors.PolicyError: grpc.StatusCode.FAILED_PRECONDITION,
    errors.SignoffError: grpc.StatusCode.INTERNAL,
}


def status_for(exc: errors.SignoffError) -> grpc.StatusCode:
    """The status code for a domain error (walks the class's MRO through the table)."""
    for cls in type(exc).__mro__:
        code = STATUS_FOR.get(cls)  # type: ignore[arg-type]
        if code is not None:
            return code
    return grpc.StatusCode.INTERNAL
