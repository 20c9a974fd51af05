"""Read a policy's confidence thresholds, and write its next version with certified ones.

Only rules whose whole condition is one confidence comparison are touched: the auto rule
(``confidence gt|gte x`` to ``auto``), the review rule that mirrors it (``lt|lte x``) and the
lower band (``lt|lte y`` with ``y < x``). Anything else in the file is kept as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.cli import CommandError

__all__ = ["current_thresholds", "write_next_version"]


def _single(rule: dict[str, Any]) -> tuple[str, float] | None:
    when = rule.get("when")
    if isinstance(when, dict) and list(when) == ["confidence"] and isinstance(when["confidence"], dict):
        ((op, value),) = when["confidence"].items() if len(when["confidence"]) == 1 else [(None, None)]
        if op in ("gt", "gte", "lt", "lte") and isinstance(value, (int, float)):
            return op, float(value)
    return None


def _doc(path: Path) -> dict[str, Any]:
    from gateway.policy import load_policy

    load_policy(path)  # PolicyError (exit 1, every issue) when it does not lint
    return yaml.safe_load(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def current_thresholds(path: Path) -> dict[str, Any]:
    """``{"decision", "auto", "second"}``: the policy's auto threshold and lower band boundary (or None)."""
    if not path.is_file():
        raise CommandError(f"--policy: {path}: no such file", code=1)
    doc = _doc(path)
    auto = second = None
    for rule in doc.get("rules", []):
        got = _single(rule)
        if got and rule.get("to") == "auto" and got[0] in ("gt", "gte"):
            auto = got[1]
    for rule in doc.get("rules", []):
        got = _single(rule)
        if got and rule.get("to") != "auto" and got[0] in ("lt", "lte") and auto is not None and got[1] < auto:
            second = got[1] if second is None else min(second, got[1])
    return {"decision": doc["decision"], "auto": auto, "second": second}


def write_next_version(
    src: Path, out: Path, auto: float, second: float | None, digest: str, cert: dict[str, Any], cert_file: str | None
) -> int:
    """Write ``src``'s next version to ``out``: auto iff confidence >= ``auto``; returns the version."""
    from gateway.errors import PolicyError
    from gateway.policy import load_policy

    doc = _doc(src)
    old = current_thresholds(src)
    if old["auto"] is None:
        raise CommandError(f"--write-policy: {src} has no rule 'confidence gt|gte X -> auto' to move", code=1)
    if second is not None and second >= auto:
        second = None  # the second band would be empty: leave its boundary where it is
    if second is None and old["second"] is not None and auto <= old["second"]:
        raise CommandError(
            f"--write-policy: the certified threshold {auto} is at or below the lower band's "
            f"boundary {old['second']}; move that band by hand (nothing written)",
            code=1,
        )
    for rule in doc["rules"]:
        got = _single(rule)
        if not got:
            continue
        op, value = got
        if rule.get("to") == "auto" and op in ("gt", "gte"):
            rule["when"] = {"confidence": {"gte": auto}}
        elif rule.get("to") != "auto" and op in ("lt", "lte") and value == old["auto"]:
            rule["when"] = {"confidence": {"lt": auto}}
        elif second is not None and second < auto and rule.get("to") != "auto" and value == old["second"]:
            rule["when"] = {"confidence": {"lt": second}}
    meta = doc["metadata"]
    meta["version"] = int(meta["version"]) + 1
    meta["certificate"] = {
        "sha256": digest,
        "file": cert_file or "",
        "threshold": auto,
        "alpha": cert["alpha"],
        "delta": cert["delta"],
        "window": f"{cert['window']['since']}..{cert['window']['until']}",
    }
    header = (
        f"# Version {meta['version']} of {meta['name']}: thresholds certified by signoff calibrate\n"
        f"# (certificate sha256 {digest}).\n"
    )
    out.write_text(header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    try:
        load_policy(out)
    except PolicyError:
        out.unlink(missing_ok=True)
        raise
    return int(meta["version"])
