"""The live set of policies: loaded from a directory at start, swapped atomically on change.

A file that changes on disk is reloaded by ``refresh``; a broken edit keeps the last good
set, is logged and counted, and shows as NOT_SERVING under the health name
``signoff.policies`` until a good version loads again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from gateway.errors import Conflict, PolicyError
from gateway.policy import load_policy_dir
from gateway.policy.model import Policy

__all__ = ["PolicyRegistry"]

log = structlog.get_logger("signoff.policy")


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((f.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


class PolicyRegistry:
    """Decision type -> compiled policy; reads are lock-free, swaps are atomic."""

    def __init__(self, directory: Path, record: Callable[[Sequence[Policy]], int]) -> None:
        self.directory = directory
        self._record = record
        self._by_type: dict[str, Policy] = {}
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()
        self._lock = threading.Lock()
        self.last_error: str = ""
        self.on_reload: Callable[[bool, str], None] = lambda ok, error: None

    def get(self, decision_type: str) -> Policy | None:
        """The active policy for ``decision_type``."""
        return self._by_type.get(decision_type)

    def all(self) -> list[Policy]:
        """Every active policy, by decision type."""
        return [self._by_type[k] for k in sorted(self._by_type)]

    def load(self) -> list[Policy]:
        """Load the directory; raise ``PolicyError``/``Conflict`` and keep nothing on failure."""
        with self._lock:
            fingerprint = _fingerprint(self.directory)
            policies = load_policy_dir(self.directory)
            _check_queues(policies)
            self._record(policies)
            self._by_type = {p.decision: p for p in policies}
            self._fingerprint = fingerprint
            self.last_error = ""
            return policies

    def refresh(self) -> bool:
        """Reload when a file changed; True if a new set became active."""
        if _fingerprint(self.directory) == self._fingerprint:
            return False
        try:
            policies = self.load()
        except (PolicyError, Conflict) as exc:
            with self._lock:
                self._fingerprint = _fingerprint(self.directory)  # do not retry the same bad edit
                self.last_error = str(exc)
            log.error("policy_reload_refused", error=str(exc).splitlines()[:20])
            self.on_reload(False, self.last_error)
            return False
        log.info("policy_reloaded", policies=[f"{p.name}@{p.version}" for p in policies])
        self.on_reload(True, "")
        return True


def _check_queues(policies: Sequence[Policy]) -> None:
    """Queues are global: the same name in two policies must allow the same roles."""
    seen: dict[str, tuple[str, frozenset[str]]] = {}
    issues = []
    for p in policies:
        for name, q in p.queues.items():
            roles = frozenset(q.roles)
            if name in seen and seen[name][1] != roles:
                issues.append(
                    f"{p.source_path}: queue {name!r} allows roles {sorted(roles)} but "
                    f"{seen[name][0]} declares it with {sorted(seen[name][1])}"
                )
            seen.setdefault(name, (p.source_path, roles))
    if issues:
        raise Conflict("; ".join(issues))
