"""Checking a request's ``input`` against its policy's ``input_schema`` (JSON Schema 2020-12).

``jsonschema`` is the judge and the author of every message. On the hot path it is preceded
by a compiled check (``fastjsonschema``, generated Python code, about ten times faster) used
only to *accept*: when it passes, the input is valid; when it fails, ``jsonschema`` runs and
names the errors (and if it finds none, the input is valid). The compiled check implements an
older draft, so it is used only for schemas whose every keyword means the same in both drafts
and where it can only be stricter, never more lenient; any other schema goes to ``jsonschema``
alone. A property test holds the two to "fast accepts => jsonschema accepts".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema

__all__ = ["fast_subset", "make_input_check"]

InputCheck = Callable[[Mapping[str, Any]], list[tuple[str, str]]]

#: Keywords whose meaning is the same in draft 7 and 2020-12 (annotations included). ``format``
#: is here because the compiled check asserts it while 2020-12 only annotates: stricter, so a
#: false "invalid" merely sends the input on to jsonschema. ``pattern`` and ``uniqueItems`` are
#: not: their edge cases (regex dialect, ``1`` against ``true``) may differ between the two.
_SAFE = frozenset(
    {
        "type",
        "enum",
        "const",
        "required",
        "properties",
        "additionalProperties",
        "minProperties",
        "maxProperties",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "format",
        "title",
        "description",
        "default",
        "examples",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)
_SCHEMA_MAPS = ("properties",)
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("additionalProperties", "items", "not")


def fast_subset(schema: Any) -> bool:
    """Whether every keyword of ``schema`` and its subschemas is one the compiled check shares."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping) or not set(schema) <= _SAFE:
        return False
    if isinstance(schema.get("items"), list):  # tuple form: prefixItems in 2020-12
        return False
    subs: list[Any] = [schema[k] for k in _SCHEMA_ONE if k in schema]
    subs += [s for k in _SCHEMA_LISTS for s in schema.get(k, ())]
    subs += [s for k in _SCHEMA_MAPS for s in schema.get(k, {}).values()]
    return all(fast_subset(s) for s in subs)


def _compiled(schema: Any) -> Callable[[Any], Any] | None:
    if not fast_subset(schema):
        return None
    try:
        import fastjsonschema
    except ImportError:  # pragma: no cover - a declared dependency; jsonschema alone still works
        return None
    try:
        return fastjsonschema.compile(schema, use_default=False)  # type: ignore[no-any-return]
    except Exception:  # noqa: BLE001 - a schema it cannot compile is checked by jsonschema alone
        return None


def _input_path(parts: Sequence[str | int]) -> str:
    return "input" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def make_input_check(schema: Any) -> InputCheck:
    """``check(input)`` -> sorted ``[(json_path, message)]``, empty when valid; never raises."""
    validator = jsonschema.Draft202012Validator(schema)
    fast = _compiled(schema)

    def check(value: Mapping[str, Any]) -> list[tuple[str, str]]:
        if fast is not None:
            try:
                fast(value)
                return []
            except Exception:  # noqa: BLE001 - jsonschema decides and names the errors
                pass
        try:
            found: list[tuple[str, str]] = []
            for error in validator.iter_errors(value):
                parts = list(error.absolute_path)
                if error.validator == "required" and isinstance(error.instance, Mapping):
                    found.extend(
                        (_input_path([*parts, key]), "is required")
                        for key in error.validator_value
                        if key not in error.instance
                    )
                else:
                    found.append((_input_path(parts), error.message))
            return sorted(found)
        except Exception as exc:  # noqa: BLE001 (input jsonschema cannot walk is invalid, not a crash)
            return [("input", f"cannot be validated ({type(exc).__name__})")]

    return check
