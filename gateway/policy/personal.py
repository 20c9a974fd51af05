"""``x-personal``: the input fields a policy's ``input_schema`` marks as personal data.

The gateway stores those fields sealed under the subject's key (``gateway/review/personal.py``).
The mark is a boolean on a top-level property, or on the schema itself for the whole input; one
anywhere else, or a value that is not a boolean, would silently seal nothing, so lint reports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["MARK", "fields", "issues"]

MARK = "x-personal"


def fields(schema: dict[str, Any]) -> tuple[str, ...]:
    """The marked top-level fields, sorted; ``("*",)`` when the schema itself is marked."""
    if schema.get(MARK) is True:
        return ("*",)
    props = schema.get("properties") or {}
    return tuple(sorted(n for n, prop in props.items() if isinstance(prop, dict) and prop.get(MARK) is True))


def issues(schema: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """``(path under input_schema, message)`` for each mark that would not take effect."""
    if MARK in schema and not isinstance(schema[MARK], bool):
        yield (MARK,), f"{MARK} must be true or false"
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if MARK in prop and not isinstance(prop[MARK], bool):
            yield ("properties", name, MARK), f"{MARK} must be true or false"
        for path in _nested(prop, ("properties", name)):
            yield path, f"{MARK} is honoured only on the schema or a top-level property"


def _nested(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """The path of every mark strictly below ``node``."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        if isinstance(v, dict) and MARK in v:
            yield (*path, k, MARK)
        if isinstance(v, dict | list):
            yield from _nested(v, (*path, k))
