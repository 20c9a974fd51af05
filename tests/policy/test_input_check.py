"""The compiled input check only ever accepts what jsonschema accepts, and names nothing itself."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.policy.input_check import fast_subset, make_input_check

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {p.name: yaml.safe_load(p.read_text())["input_schema"] for p in sorted((ROOT / "policies").glob("*.yaml"))}

TRICKY = {
    "integers": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 10}}},
    "exclusive": {
        "type": "object",
        "properties": {"x": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
    },
    "closed": {
        "type": "object",
        "required": ["a"],
        "additionalProperties": False,
        "properties": {"a": {"enum": [1, "1", True, None]}},
    },
    "strings": {"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 4}}},
    "const_bool": {"type": "object", "properties": {"b": {"const": False}}},
    "combinators": {
        "type": "object",
        "properties": {
            "v": {"anyOf": [{"type": "string"}, {"type": "number", "multipleOf": 0.5}]},
            "w": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 5}]},
            "z": {"not": {"type": "boolean"}},
        },
    },
    "arrays": {"type": "object", "properties": {"l": {"type": "array", "items": {"type": "integer"}, "maxItems": 3}}},
    "format": {"type": "object", "properties": {"e": {"type": "string", "format": "email"}}},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-20, 20)
    | st.floats(-20, 20, allow_nan=False)
    | st.sampled_from([0.0, 1.0, 0.5, 5.0, 3.0, 50000.0, -1.0])
    | st.text(max_size=6)
    | st.sampled_from(["auto", "home", "1", "a@b.c", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def _inputs(schema: dict) -> st.SearchStrategy[dict]:
    keys = sorted(schema.get("properties", {})) + ["other"]
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


@pytest.mark.parametrize("name", sorted({**SHIPPED, **TRICKY}))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_check_agrees_with_jsonschema(name: str, data: st.DataObject) -> None:
    schema = {**SHIPPED, **TRICKY}[name]
    value = data.draw(_inputs(schema))
    expected_valid = jsonschema.Draft202012Validator(schema).is_valid(value)
    assert (make_input_check(schema)(value) == []) is expected_valid


def test_shipped_and_tricky_schemas_take_the_compiled_path() -> None:
    assert all(fast_subset(s) for s in {**SHIPPED, **TRICKY}.values())


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"id": {"type": "string", "pattern": "^c-[0-9]+$"}}},
        {"type": "object", "properties": {"l": {"type": "array", "uniqueItems": True}}},
        {"type": "object", "properties": {"t": {"type": "array", "prefixItems": [{"type": "integer"}]}}},
        {"type": "object", "$defs": {"n": {"type": "integer"}}, "properties": {"n": {"$ref": "#/$defs/n"}}},
        {"type": "object", "dependentRequired": {"a": ["b"]}},
        {"type": "object", "properties": {"t": {"items": [{"type": "integer"}]}}},
    ],
)
def test_keywords_outside_the_shared_subset_go_to_jsonschema_alone(schema: dict) -> None:
    assert not fast_subset(schema)


def test_errors_are_named_by_jsonschema() -> None:
    check = make_input_check(SHIPPED["claims-triage.yaml"])
    assert check({"amount": -5.0, "claim_type": "boat"}) == [
        ("input.amount", "-5.0 is less than the minimum of 0"),
        ("input.claim_type", "'boat' is not one of ['auto', 'home', 'travel', 'health', 'liability']"),
    ]
    assert check({"claim_type": "auto"}) == [("input.amount", "is required")]
    assert check({"amount": 10.0, "claim_type": "auto", "policy_holder_tenure_years": 3.0}) == []
