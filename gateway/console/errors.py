"""The one table from the gateway's exception tree to HTTP status codes, for the console's pages.

The twin of ``gateway/rpc/errors.py``; a test checks every ``SignoffError`` subclass is covered.
A page shows the error's own message (it names the field or the state, never internals),
except for the catch-all ``SignoffError``, which shows a fixed line.
"""

from __future__ import annotations

from gateway import errors

__all__ = ["HTTP_STATUS_FOR", "http_status_for", "public_message"]

#: Most specific first.
HTTP_STATUS_FOR: dict[type[errors.SignoffError], int] = {
    errors.UnknownDecisionType: 400,
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Stale: 409,
    errors.PreconditionFailed: 409,
    errors.StoreUnavailable: 503,
    errors.PolicyError: 409,
    errors.SignoffError: 500,
}


def http_status_for(exc: errors.SignoffError) -> int:
    """The HTTP status for a domain error (walks the class's MRO through the table)."""
    for cls in type(exc).__mro__:
        code = HTTP_STATUS_FOR.get(cls)  # type: ignore[arg-type]
        if code is not None:
            return code
    return 500


def public_message(exc: errors.SignoffError) -> str:
    """What the page may say about the error."""
    if http_status_for(exc) == 500:
        return "The gateway could not complete this request."
    if isinstance(exc, errors.StoreUnavailable):
        return "The database cannot be reached just now; nothing was recorded. Try again shortly."
    return str(exc)
