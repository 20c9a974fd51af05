"""``signoff policy``: lint, test, explain and schema, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.cli import main
from gateway.policy import schema_text
from tests.policy.conftest import POLICIES, REPO, policy_doc

CLAIMS = str(POLICIES / "claims-triage.yaml")


class TestLint:
    """signoff policy lint."""

    def test_shipped_policies_lint_without_errors(self, capsys):
        """The shipped policies have no errors (claims-triage has its GDPR warning)."""
        code = main(["policy", "lint", str(POLICIES)])
        out = capsys.readouterr().out
        assert code == 0 and "warning: gdpr_auto_adverse" in out and out.endswith("0 errors, 1 warning\n")

    def test_error_exits_one_with_issue_line(self, write, capsys):
        """An invalid policy prints file:line: path: code: message and exits 1."""
        path = write("- not a mapping\n")
        code = main(["policy", "lint", str(path)])
        captured = capsys.readouterr()
        assert code == 1
        assert captured.out.splitlines()[0].startswith(f"{path}:1: $: not_a_mapping:")
        assert "Traceback" not in captured.err

    def test_each_bad_input_is_one_line(self, write, capsys):
        """Every bad input of the issue gives exactly one issue line naming the file."""
        files = {
            "syntax.yaml": "a: [1,\n",
            "tabs.yaml": "a:\n\tb: 1\n",
            "dup.yaml": "a: 1\na: 2\n",
            "empty.yaml": "",
            "list.yaml": "- 1\n",
            "big.yaml": "a: " + "x" * 10_000_000,
            "unknown.yaml": json.dumps({**policy_doc(), "extra": 1}),
            "type.yaml": json.dumps(policy_doc(significant="no")),
        }
        paths = [write(text, name) for name, text in files.items()]
        code = main(["policy", "lint", *map(str, paths)])
        lines = capsys.readouterr().out.splitlines()[:-1]
        assert code == 1 and len(lines) == len(files)
        assert {line.split(":")[0] for line in lines} == {str(p) for p in paths}

    def test_missing_path_is_one_stderr_line(self, tmp_path, capsys):
        """A path that does not exist is one line on stderr, exit 2."""
        code = main(["policy", "lint", str(tmp_path / "nope.yaml")])
        err = capsys.readouterr().err
        assert code == 2 and len(err.splitlines()) == 1 and "nope.yaml" in err


class TestTest:
    """signoff policy test."""

    def test_shipped_cases_pass(self, capsys):
        """The shipped YAML cases all pass."""
        code = main(["policy", "test", str(POLICIES / "tests")])
        out = capsys.readouterr().out
        assert code == 0 and "FAIL" not in out and " 0 failed" in out

    def test_failing_case_exits_one(self, write, capsys):
        """A case whose expectation is wrong is FAIL and exit 1."""
        write(policy_doc(), "p.yaml")
        cases = write(
            "policy: p.yaml\ncases:\n  - name: wrong\n    input: {amount: 1}\n"
            "    proposal: {outcome: approve, confidence: 0.9}\n    expect: {route: senior}\n",
            "cases.yaml",
        )
        code = main(["policy", "test", str(cases)])
        out = capsys.readouterr().out
        assert code == 1 and "FAIL" in out and "auto/sure" in out

    def test_table_is_aligned(self, capsys):
        """Columns of the pass/fail table line up."""
        main(["policy", "test", str(POLICIES / "tests")])
        lines = capsys.readouterr().out.splitlines()
        header, rows = lines[0], [line for line in lines if line.startswith("PASS")]
        assert {row.index(str(POLICIES)) for row in rows} == {header.index("CASE FILE")}

    def test_broken_policy_is_a_load_error(self, write, capsys):
        """Cases against a policy that does not load fail the run with its issues."""
        write("", "p.yaml")
        cases = write(
            "policy: p.yaml\ncases:\n  - name: x\n    proposal: {outcome: a, confidence: 1}\n"
            "    expect: {route: auto}\n",
            "cases.yaml",
        )
        code = main(["policy", "test", str(cases)])
        assert code == 1 and "empty_file" in capsys.readouterr().out

    def test_malformed_case_file(self, write, capsys):
        """A case file without cases is reported, exit 1."""
        cases = write("policy: p.yaml\n", "cases.yaml")
        assert main(["policy", "test", str(cases)]) == 1
        assert "bad_case" in capsys.readouterr().out


class TestExplain:
    """signoff policy explain."""

    def test_explain_shows_route_rule_reasons_and_policy(self, capsys):
        """explain prints route, rule, the reasons with values, and the policy version and digest."""
        code = main(
            [
                "policy",
                "explain",
                CLAIMS,
                "--input",
                '{"amount": 62000, "claim_type": "home"}',
                "--proposal",
                '{"outcome": "approve", "confidence": 0.81}',
            ]
        )
        out = capsys.readouterr().out
        assert code == 0
        assert "route:   senior" in out and "rule:    high_value" in out
        assert "input.amount 62000 >= 50000" in out and "claims-triage v2 sha256:" in out

    def test_explain_json(self, capsys):
        """--json prints a machine-readable result."""
        main(
            [
                "policy",
                "explain",
                CLAIMS,
                "--input",
                '{"amount": 100, "claim_type": "auto"}',
                "--proposal",
                '{"outcome": "approve", "confidence": 0.81}',
                "--json",
            ]
        )
        result = json.loads(capsys.readouterr().out)
        assert (result["route"], result["rule"], result["reasons"][0]) == (
            "junior",
            "review_band",
            "confidence 0.81 <= 0.92",
        )

    def test_bad_json_is_one_line(self, capsys):
        """Malformed --input JSON is one line on stderr, exit 2."""
        code = main(["policy", "explain", CLAIMS, "--input", "{", "--proposal", "{}"])
        err = capsys.readouterr().err
        assert code == 2 and len(err.splitlines()) == 1 and "--input" in err

    def test_directory_as_file_is_one_line(self, capsys):
        """A directory where a policy file belongs is one line on stderr, exit 1."""
        code = main(
            [
                "policy",
                "explain",
                str(POLICIES),
                "--input",
                "{}",
                "--proposal",
                '{"outcome": "approve", "confidence": 0.9}',
            ]
        )
        err = capsys.readouterr().err
        assert code == 1 and len(err.splitlines()) == 1 and "not_a_file" in err

    def test_missing_file_is_one_line(self, tmp_path, capsys):
        """A missing policy file is one line on stderr, exit 1."""
        code = main(
            [
                "policy",
                "explain",
                str(tmp_path / "x.yaml"),
                "--input",
                "{}",
                "--proposal",
                '{"outcome": "approve", "confidence": 0.9}',
            ]
        )
        err = capsys.readouterr().err
        assert code == 1 and len(err.splitlines()) == 1 and "file_not_found" in err


class TestSchema:
    """signoff policy schema and the shipped schema copy."""

    def test_schema_prints_the_packaged_schema(self, capsys):
        """schema prints the packaged JSON Schema exactly."""
        assert main(["policy", "schema"]) == 0
        assert capsys.readouterr().out == schema_text()

    def test_policies_copy_is_identical(self):
        """policies/schema/routing-policy.schema.json is byte-identical to the packaged schema."""
        packaged = (REPO / "gateway" / "policy" / "routing-policy.schema.json").read_bytes()
        assert (POLICIES / "schema" / "routing-policy.schema.json").read_bytes() == packaged

    def test_schema_is_a_valid_draft_2020_12_schema(self):
        """The schema itself passes the draft 2020-12 metaschema."""
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(json.loads(schema_text()))

    def test_example_policies_carry_the_modeline(self):
        """Both example policies point the YAML language server at the schema."""
        for name in ("claims-triage.yaml", "content-moderation.yaml"):
            first = (POLICIES / name).read_text().splitlines()[0]
            assert first == "# yaml-language-server: $schema=./schema/routing-policy.schema.json"


class TestConsoleScript:
    """The command line as a separate process."""

    def test_bad_file_exits_one_without_traceback(self, write):
        """A broken policy file gives exit 1, issue lines, and no traceback."""
        path = write("a: 1\na: 2\n")
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "policy", "lint", str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
            check=False,
        )
        assert done.returncode == 1 and "duplicate_key" in done.stdout
        assert "Traceback" not in done.stdout + done.stderr

    def test_lint_and_test_pass_on_shipped_policies(self):
        """The CI commands succeed on the shipped policies."""
        for command in (["policy", "lint"], ["policy", "test"]):
            done = subprocess.run(
                [sys.executable, "-m", "gateway.cli", *command],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
