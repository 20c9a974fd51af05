"""Gold files: checked against the loaded policies, every problem with the file, the line and a code."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli import main
from gateway.policy import load_policy_dir
from gateway.policy.gold import check_gold
from gateway.policy.loader import load_document
from tests.policy.conftest import POLICIES, REPO

EXAMPLE = REPO / "docs" / "examples" / "claims-gold.yaml"
GOOD = """decision: claims.payout
cases:
  - name: flood is excluded
    input: {amount: 4200, claim_type: home}
    proposal: {outcome: approve, confidence: 0.84}
    expected: deny
"""


@pytest.fixture(scope="module")
def policies():
    """The shipped policies by decision type."""
    return {p.decision: p for p in load_policy_dir(POLICIES)}


def check(tmp_path: Path, text: str, policies):
    """Write a gold file and check it."""
    path = tmp_path / "gold.yaml"
    path.write_text(text)
    doc, locate = load_document(path)
    return path, *check_gold(doc, str(path), locate, policies)


class TestCheckGold:
    """The checks."""

    def test_good_file_gives_its_cases(self, tmp_path, policies):
        """A valid case comes back with its trap flag: approve proposed, deny expected."""
        _, cases, issues = check(tmp_path, GOOD, policies)
        assert issues == [] and [(c.name, c.trap) for c in cases] == [("flood is excluded", True)]

    def test_unlisted_expected_outcome_names_file_and_line(self, tmp_path, policies):
        """An expected outcome the policy does not list is unknown_outcome at its own line."""
        path, cases, issues = check(tmp_path, GOOD.replace("expected: deny", "expected: refund"), policies)
        (issue,) = issues
        assert cases == [] and (issue.code, issue.line, issue.json_path) == (
            "unknown_outcome",
            6,
            "$.cases[0].expected",
        )
        assert str(issue).startswith(f"{path}:6:")

    def test_unlisted_proposed_outcome(self, tmp_path, policies):
        """A proposal outcome the policy does not list is refused too."""
        _, _, issues = check(tmp_path, GOOD.replace("outcome: approve", "outcome: maybe"), policies)
        assert [i.code for i in issues] == ["unknown_outcome"]

    def test_unknown_decision_type(self, tmp_path, policies):
        """A decision type no policy decides is unknown_decision_type at line 1."""
        _, _, issues = check(tmp_path, GOOD.replace("claims.payout", "loans.approval"), policies)
        assert [(i.code, i.line) for i in issues] == [("unknown_decision_type", 1)]

    def test_input_is_checked_against_the_policy(self, tmp_path, policies):
        """An input the policy's input_schema refuses is invalid_input naming the field."""
        _, _, issues = check(tmp_path, GOOD.replace("claim_type: home", "claim_type: boat"), policies)
        assert [i.code for i in issues] == ["invalid_input"] and "input.claim_type" in issues[0].message

    def test_confidence_outside_the_unit_interval(self, tmp_path, policies):
        """A proposal confidence of 84 is a bad_gold_case."""
        _, _, issues = check(tmp_path, GOOD.replace("0.84", "84"), policies)
        assert [i.code for i in issues] == ["bad_gold_case"]

    def test_missing_key(self, tmp_path, policies):
        """A case without its expected outcome is a bad_gold_case."""
        _, _, issues = check(tmp_path, GOOD.replace("    expected: deny\n", ""), policies)
        assert [i.code for i in issues] == ["bad_gold_case"]


class TestGoldCli:
    """signoff gold check."""

    def test_example_passes(self, capsys):
        """The shipped example is clean: three cases, two deliberately wrong."""
        assert main(["gold", "check", str(EXAMPLE), "--policies", str(POLICIES)]) == 0
        assert capsys.readouterr().out == "3 gold cases for claims.payout, 2 with a deliberately wrong proposal\n"

    def test_bad_outcome_exits_one_with_the_line(self, tmp_path, capsys):
        """An unlisted outcome prints file:line and exits 1."""
        path = tmp_path / "g.yaml"
        path.write_text(GOOD.replace("expected: deny", "expected: refund"))
        code = main(["gold", "check", str(path), "--policies", str(POLICIES)])
        out = capsys.readouterr().out
        assert code == 1 and out.startswith(f"{path}:6: $.cases[0].expected: unknown_outcome:")

    def test_yaml_error_is_one_line(self, tmp_path, capsys):
        """A file that is not YAML gives one issue line, never a traceback."""
        path = tmp_path / "g.yaml"
        path.write_text("decision: [claims\n")
        code = main(["gold", "check", str(path), "--policies", str(POLICIES)])
        captured = capsys.readouterr()
        assert code == 1 and len(captured.out.splitlines()) == 1 and "yaml_syntax" in captured.out
        assert "Traceback" not in captured.err

    def test_missing_policy_dir_is_one_line(self, tmp_path, capsys):
        """A policy directory that does not exist is one stderr line, exit 2."""
        code = main(["gold", "check", str(EXAMPLE), "--policies", str(tmp_path / "none")])
        assert code == 2 and len(capsys.readouterr().err.splitlines()) == 1
