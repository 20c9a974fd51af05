"""Model bindings: loaded, linted with file:line and stable codes, reloaded keeping the last good set."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.adapters.models.bindings import check_policies, load_bindings, parse_duration
from gateway.adapters.models.registry import ModelRegistry
from gateway.errors import PolicyError
from gateway.policy import load_policy_text

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
apiVersion: signoff.dev/v1
kind: ModelBindings
bindings:
  claims-model:
    backend: oip-rest
    address: http://127.0.0.1:1
    model: claims
    version: "1"
    deadline: 250ms
    retries: {attempts: 2, backoff: 10ms}
    input: [amount, age]
    output: {probabilities: predict_proba}
    labels: [deny, approve]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return path


def _codes(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(PolicyError) as err:
        load_bindings(_write(tmp_path, text))
    return [str(i) for i in err.value.issues]


class TestLoad:
    def test_good_file_loads(self, tmp_path: Path) -> None:
        """A valid file gives one binding with its deadline, retries and labels."""
        b = load_bindings(_write(tmp_path, GOOD)).bindings["claims-model"]
        assert (b.deadline_s, b.attempts, b.backoff_s, b.labels) == (0.25, 2, 0.01, ("deny", "approve"))

    def test_shipped_file_loads(self) -> None:
        """config/models.yaml, the shipped example, loads."""
        assert "claims-model" in load_bindings(ROOT / "config" / "models.yaml").bindings

    def test_unknown_backend_names_line(self, tmp_path: Path) -> None:
        """An unknown backend is refused with its file:line and code."""
        issues = _codes(tmp_path, GOOD.replace("backend: oip-rest", "backend: carrier-pigeon"))
        assert any(":5: $.bindings.claims-model.backend: unknown_backend" in i for i in issues)

    def test_non_duration_deadline(self, tmp_path: Path) -> None:
        """A deadline that is not a duration is refused at its line."""
        issues = _codes(tmp_path, GOOD.replace("deadline: 250ms", "deadline: soon"))
        assert any(":9: $.bindings.claims-model.deadline: bad_duration" in i for i in issues)

    def test_unreachable_output_mapping(self, tmp_path: Path) -> None:
        """An oip binding whose output names neither probabilities nor outcome is refused."""
        issues = _codes(tmp_path, GOOD.replace("{probabilities: predict_proba}", "{scores: x}"))
        assert any("unreachable_mapping" in i for i in issues)

    def test_prompt_reads_unmapped_field(self, tmp_path: Path) -> None:
        """A chat prompt placeholder that the input mapping does not list is refused."""
        text = GOOD.replace("backend: oip-rest", "backend: openai-chat").replace(
            "    labels:", "    prompt: 'Is {amount} by {name} ok? {labels}'\n    labels:"
        )
        issues = _codes(tmp_path, text)
        assert any("unreachable_mapping" in i and "{name}" in i for i in issues)

    def test_unknown_key(self, tmp_path: Path) -> None:
        """An unknown key is refused, named, at its line."""
        issues = _codes(tmp_path, GOOD + "    colour: red\n")
        assert any(":14: $.bindings.claims-model.colour: unknown_key" in i for i in issues)

    def test_unknown_shadow(self, tmp_path: Path) -> None:
        """A shadow naming no other binding is refused at its line."""
        issues = _codes(tmp_path, GOOD + "    shadows: [nobody]\n")
        assert any(":14: $.bindings.claims-model.shadows[0]: unknown_binding" in i for i in issues)

    def test_durations(self) -> None:
        """Durations are ms, s or m; anything else is not one."""
        assert [parse_duration(x) for x in ("250ms", "2s", "1m", "2 s", 5)] == [0.25, 2.0, 60.0, None, None]


class TestReload:
    def test_bad_reload_keeps_last_good(self, tmp_path: Path) -> None:
        """A broken edit is refused with its issues and the last good bindings stay in force."""
        path = _write(tmp_path, GOOD)
        registry = ModelRegistry(path)
        path.write_text(GOOD.replace("deadline: 250ms", "deadline: forever"))
        issues = registry.reload()
        assert [i.code for i in issues] == ["bad_duration"]
        assert registry.callers["claims-model"].binding.deadline_s == 0.25

    def test_good_reload_swaps(self, tmp_path: Path) -> None:
        """A valid edit replaces the set."""
        path = _write(tmp_path, GOOD)
        registry = ModelRegistry(path)
        path.write_text(GOOD.replace("deadline: 250ms", "deadline: 2s"))
        assert registry.reload() == []
        assert registry.callers["claims-model"].binding.deadline_s == 2.0


class TestPolicyProposal:
    def _policy(self, proposal: str):
        text = (ROOT / "policies" / "claims-triage.yaml").read_text()
        return load_policy_text(text + proposal, "claims.yaml")

    def test_default_is_caller(self) -> None:
        """A policy without a proposal section takes the caller's proposal, as before."""
        assert self._policy("").proposal.source == "caller"

    def test_model_needs_binding(self) -> None:
        """source: model without a binding is refused with missing_key."""
        with pytest.raises(PolicyError) as err:
            self._policy("proposal:\n  source: model\n")
        assert [i.code for i in err.value.issues] == ["missing_key"]

    def test_binding_must_exist_with_known_labels(self, tmp_path: Path) -> None:
        """A policy naming a missing binding, or one proposing labels it does not decide, is refused."""
        bindings = load_bindings(_write(tmp_path, GOOD))
        missing = self._policy("proposal:\n  source: model\n  binding: nope\n")
        known = self._policy("proposal:\n  source: either\n  binding: claims-model\n")
        assert [i.code for i in check_policies([missing], bindings)] == ["unknown_binding"]
        extra = load_bindings(_write(tmp_path, GOOD.replace("[deny, approve]", "[deny, maybe]")))
        assert check_policies([known], bindings) == []
        assert [i.code for i in check_policies([known], extra)] == ["unknown_outcome"]
