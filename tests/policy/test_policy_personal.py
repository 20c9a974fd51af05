"""``x-personal`` in a policy's input_schema: which fields are stored sealed, and lint of misuse."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.errors import PolicyError
from gateway.policy import load_policy
from gateway.review.personal import personal_fields
from tests.policy.conftest import BASE


def _with() -> dict:  # type: ignore[type-arg]
    return copy.deepcopy(BASE)


def test_marked_properties_are_personal(write: Callable[..., Path]) -> None:
    """Each top-level property marked true is personal; the others are not."""
    policy = load_policy(write(_with()))
    assert policy.personal == ()
    doc = _with()
    doc["input_schema"]["properties"]["region"]["x-personal"] = True
    doc["input_schema"]["properties"]["amount"]["x-personal"] = False
    policy = load_policy(write(doc))
    assert policy.personal == ("region",)
    assert personal_fields(policy, {"amount": 3, "region": "EU"}) == ["region"]
    assert personal_fields(policy, {"amount": 3}) == []


def test_the_whole_input_can_be_personal(write: Callable[..., Path]) -> None:
    """``x-personal: true`` on the schema itself seals every field the input carries."""
    doc = _with()
    doc["input_schema"]["x-personal"] = True
    policy = load_policy(write(doc))
    assert personal_fields(policy, {"amount": 3, "region": "EU", "extra": 1}) == ["amount", "extra", "region"]


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        (("properties", "region"), "yes", "must be true or false"),
        ((), 1, "must be true or false"),
        (("properties", "applicant", "properties", "age"), True, "only on the schema or a top-level property"),
    ],
)
def test_misplaced_or_non_boolean_marks_are_errors(
    write: Callable[..., Path], where: tuple[str, ...], value: object, message: str
) -> None:
    """A mark that would silently not seal is a load error at its line, code invalid_personal."""
    doc = _with()
    node = doc["input_schema"]
    for part in where:
        node = node[part]
    node["x-personal"] = value
    with pytest.raises(PolicyError) as err:
        load_policy(write(doc))
    issues = [str(i) for i in err.value.issues]
    assert any("invalid_personal" in i and message in i for i in issues), issues
    assert all(":" in i.split(" ")[0] for i in issues)  # file:line first
