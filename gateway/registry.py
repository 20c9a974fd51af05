"""The live set of policies: loaded from a directory at start, swapped atomically on change.

A file that changes on disk is reloaded by ``refresh``; a broken edit keeps the last good
set, is logged and counted, and shows as NOT_SERVING under the health name
``signoff.policies`` until a good version loads again.

A deleted file is not a removal: its decision type keeps deciding with the last good version,
the reload is logged (``policy_file_missing``) and counted, ``missing`` names it (for health and
metrics) and health stays NOT_SERVING until the file is back or the removal is made explicit
with a tombstone, a file ``<decision type>.removed`` in the directory (its text, if any, is the
reason logged). A restart also takes the directory as it is: at start-up no memory of deleted
files is kept. A file present for the type wins over its tombstone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from gateway.errors import Conflict, PolicyError
from gateway.policy import load_policy_dir
from gateway.policy.model import Policy

__all__ = ["TOMBSTONE", "PolicyRegistry"]

log = structlog.get_logger("signoff.policy")


TOMBSTONE = ".removed"
"""Suffix of the file that removes a decision type explicitly (``claims.payout.removed``)."""


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml"), *directory.glob(f"*{TOMBSTONE}")])
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
        self.missing: dict[str, str] = {}
        """Decision type -> the deleted file whose last good version still decides it."""
        self.on_reload: Callable[[bool, str], None] = lambda ok, error: None

    def get(self, decision_type: str) -> Policy | None:
        """The active policy for ``decision_type``."""
        return self._by_type.get(decision_type)

    def all(self) -> list[Policy]:
        """Every active policy, by decision type."""
        return [self._by_type[k] for k in sorted(self._by_type)]

    def load(self) -> list[Policy]:
        """Load the directory; raise ``PolicyError``/``Conflict`` and keep nothing on failure."""
        return self._load(keep_missing=False)

    def _load(self, keep_missing: bool) -> list[Policy]:
        """Load the directory; with ``keep_missing``, a type whose file vanished without a
        tombstone keeps its current policy (and is listed in ``missing``)."""
        with self._lock:
            fingerprint = _fingerprint(self.directory)
            policies = load_policy_dir(self.directory)
            loaded = {p.decision for p in policies}
            missing: dict[str, str] = {}
            if keep_missing:
                removed = _tombstones(self.directory)
                for decision, kept in self._by_type.items():
                    if decision not in loaded and decision not in removed:
                        missing[decision] = kept.source_path
                        policies.append(kept)
                for decision in sorted((set(self._by_type) - loaded) & removed.keys()):
                    log.warning("policy_removed", decision_type=decision, reason=removed[decision])
            _check_queues(policies)
            self._record(policies)
            self._by_type = {p.decision: p for p in policies}
            self._fingerprint = fingerprint
            self.missing = missing
            self.last_error = _missing_error(missing)
            return policies

    def refresh(self) -> bool:
        """Reload when a file changed; True if a new set became active."""
        if _fingerprint(self.directory) == self._fingerprint:
            return False
        try:
            policies = self._load(keep_missing=True)
        except (PolicyError, Conflict) as exc:
            with self._lock:
                self._fingerprint = _fingerprint(self.directory)  # do not retry the same bad edit
                self.last_error = str(exc)
            log.error("policy_reload_refused", error=str(exc).splitlines()[:20])
            self.on_reload(False, self.last_error)
            return False
        if self.missing:
            log.error("policy_file_missing", missing=self.missing, error=self.last_error)
        log.info("policy_reloaded", policies=[f"{p.name}@{p.version}" for p in policies])
        self.on_reload(not self.missing, self.last_error)
        return True


def _tombstones(directory: Path) -> dict[str, str]:
    """Decision type -> the reason in its ``.removed`` file ("" when empty or unreadable)."""
    out: dict[str, str] = {}
    for f in directory.glob(f"*{TOMBSTONE}"):
        try:
            reason = f.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            reason = ""
        out[f.name.removesuffix(TOMBSTONE)] = reason[:200]
    return out


def _missing_error(missing: dict[str, str]) -> str:
    if not missing:
        return ""
    return "; ".join(
        f"{path}: deleted, but {decision} keeps deciding with its last good version until "
        f"{decision}{TOMBSTONE} removes it"
        for decision, path in sorted(missing.items())
    )


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
