"""The one exception tree of the gateway; the RPC edge maps it to status codes in one table.

    SignoffError
    ├── InvalidRequest          the caller sent something malformed (names the field)
    │   └── UnknownDecisionType the decision type has no loaded policy
    ├── Unauthenticated         no token, or a token nobody holds
    ├── PermissionDenied        the principal lacks the role (or reviews its own request)
    ├── NotFound                no such decision, task or policy version
    ├── Conflict                the same request id came with a different body
    ├── PreconditionFailed      the state forbids it (second submit, lapsed lease)
    │   └── Stale               a guarded update found its row changed since it was read
    ├── StoreUnavailable        the store or the audit log could not be written or read
    └── PolicyError             a policy file is invalid (carries every issue)

Domain code raises these and never mentions gRPC.
"""

from __future__ import annotations

__all__ = [
    "Conflict",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "PolicyError",
    "PreconditionFailed",
    "SignoffError",
    "Stale",
    "StoreUnavailable",
    "Unauthenticated",
    "UnknownDecisionType",
]


class SignoffError(Exception):
    """Base of every error the gateway raises on purpose."""


class InvalidRequest(SignoffError):
    """The caller's request is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # pickled (the writer process) as built
        return type(self), (self.field, self.message)


class UnknownDecisionType(InvalidRequest):
    """No loaded policy decides this decision type."""

    def __init__(self, decision_type: str) -> None:
        super().__init__("decision_type", f"no policy decides {decision_type!r}")
        self.decision_type = decision_type

    def __reduce__(self) -> tuple[type, tuple[str]]:  # type: ignore[override]  # pickled as built: one argument
        return type(self), (self.decision_type,)


class Unauthenticated(SignoffError):
    """No bearer token, or one that no principal holds."""


class PermissionDenied(SignoffError):
    """The principal is known but may not do this."""


class NotFound(SignoffError):
    """The named decision, task or policy version does not exist."""


class Conflict(SignoffError):
    """The same idempotency key was used with a different request body."""


class PreconditionFailed(SignoffError):
    """The object's state forbids the operation (already submitted, lease lapsed)."""


class Stale(PreconditionFailed):
    """A Change's guarded update found its row no longer as the use case read it (another
    reviewer claimed the task, a second tab submitted first): that Change alone fails."""


class StoreUnavailable(SignoffError):
    """The database or audit log could not be written or read; nothing was acknowledged."""


class PolicyError(SignoffError):
    """A policy could not be loaded; ``issues`` holds every problem found."""

    def __init__(self, issues: list) -> None:  # list[gateway.policy.model.Issue]
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid policy")

    def __reduce__(self) -> tuple[type, tuple[list]]:  # pickled as built
        return type(self), (self.issues,)
