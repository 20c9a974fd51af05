"""Who may do what, in one place: the gRPC servicers and the web console both ask here, so the
two doors cannot drift apart (the use cases in ``service`` check the rest).

Pure: a principal and the loaded policies in, an answer or ``PermissionDenied`` out.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.errors import PermissionDenied
from gateway.policy.model import Policy
from gateway.review.model import Principal

__all__ = ["AUDITOR", "CALLER", "is_auditor", "require_auditor", "reviewable_queues"]

AUDITOR = "auditor"
CALLER = "caller"


def is_auditor(principal: Principal) -> bool:
    """True when the principal may read the audit log, the reports and every trail."""
    return principal.has(AUDITOR)


def require_auditor(principal: Principal) -> None:
    """Raise ``PermissionDenied`` unless the principal is an auditor."""
    if not is_auditor(principal):
        raise PermissionDenied(f"{principal.name} lacks the role {AUDITOR!r}")


def reviewable_queues(principal: Principal, policies: Iterable[Policy]) -> list[str]:
    """The queues whose roles the principal holds, sorted by name."""
    names: set[str] = set()
    for policy in policies:
        for name, queue in policy.queues.items():
            if principal.roles & set(queue.roles):
                names.add(name)
    return sorted(names)
