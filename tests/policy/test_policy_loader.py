"""The loader: every bad input is refused with one issue naming file, line, place and code."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import PolicyError
from gateway.policy import (
    Issue,
    lint_paths,
    load_policy,
    load_policy_dir,
    load_policy_text,
)
from tests.policy.conftest import BASE, policy_doc


def codes(path: Path) -> list[str]:
    """The codes of every issue lint reports for one file."""
    return [issue.code for issue in lint_paths([path])]


def only_issue(path: Path) -> Issue:
    """The one issue lint reports for a file (fails if there are several)."""
    issues = lint_paths([path])
    assert len(issues) == 1, issues
    return issues[0]


class TestBadFiles:
    """Files that are not policies at all."""

    def test_yaml_syntax_error_names_line(self, write):
        """A YAML syntax error is one yaml_syntax issue at the line where parsing failed."""
        path = write("apiVersion: signoff.dev/v1\nkind: [RoutingPolicy\nmetadata: {}\n")
        issue = only_issue(path)
        assert (issue.code, issue.file, issue.line) == ("yaml_syntax", str(path), 3)

    def test_tab_indentation_is_refused(self, write):
        """A tab in indentation is one tab_indent issue at that line."""
        path = write("metadata:\n\tname: x\n")
        issue = only_issue(path)
        assert (issue.code, issue.line) == ("tab_indent", 2)

    def test_duplicate_key_is_detected(self, write):
        """A key given twice is a duplicate_key issue at the second occurrence."""
        path = write("kind: RoutingPolicy\ndecision: a.b\ndecision: c.d\n")
        issue = only_issue(path)
        assert (issue.code, issue.line, issue.json_path) == ("duplicate_key", 3, "$.decision")

    def test_nested_duplicate_key_is_detected(self, write):
        """Duplicate keys are found at any depth, not just the top level."""
        path = write("metadata:\n  name: a\n  version: 1\n  name: b\n")
        assert codes(path) == ["duplicate_key"]

    def test_empty_file_is_refused(self, write):
        """An empty file is one empty_file issue."""
        assert codes(write("")) == ["empty_file"]

    def test_comment_only_file_is_empty(self, write):
        """A file with only comments holds no document either."""
        assert codes(write("# nothing here\n")) == ["empty_file"]

    def test_ten_megabyte_file_is_refused_before_parsing(self, write):
        """A 10 MB file is refused by size with file_too_large."""
        path = write("a: " + "x" * 10_000_000)
        issue = only_issue(path)
        assert (issue.code, issue.line) == ("file_too_large", 1)

    def test_large_text_is_refused_by_the_text_loader_too(self):
        """load_policy_text applies the same size limit."""
        with pytest.raises(PolicyError) as caught:
            load_policy_text("a: " + "x" * (2 * 1024 * 1024), "big.yaml")
        assert [i.code for i in caught.value.issues] == ["file_too_large"]

    def test_alias_bomb_is_refused(self, write):
        """Aliases that expand to a huge document are refused instead of exhausting memory."""
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [
            f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
            for i in range(1, 9)
        ]
        assert codes(write("\n".join(lines) + "\n")) == ["file_too_large"]

    def test_list_document_is_not_a_mapping(self, write):
        """A top-level list is one not_a_mapping issue."""
        assert codes(write("- a\n- b\n")) == ["not_a_mapping"]

    def test_scalar_document_is_not_a_mapping(self, write):
        """A top-level scalar is one not_a_mapping issue."""
        assert codes(write("just text\n")) == ["not_a_mapping"]

    def test_non_string_key_is_wrong_type(self, write):
        """A key YAML reads as a non-string (here a boolean) is refused, with the advice to quote it."""
        assert codes(write("yes: 1\n")) == ["wrong_type"]

    def test_missing_file(self, tmp_path):
        """A path that does not exist is one file_not_found issue."""
        assert codes(tmp_path / "nope.yaml") == ["file_not_found"]

    def test_directory_as_file(self, tmp_path):
        """load_policy on a directory raises PolicyError with not_a_file."""
        with pytest.raises(PolicyError) as caught:
            load_policy(tmp_path)
        assert [i.code for i in caught.value.issues] == ["not_a_file"]

    def test_invalid_utf8_is_refused(self, tmp_path):
        """A file that is not UTF-8 is one encoding issue."""
        path = tmp_path / "latin.yaml"
        path.write_bytes("a: caf\xe9\n".encode("latin-1"))
        assert codes(path) == ["encoding"]


class TestSchemaIssues:
    """Documents that parse but do not follow the routing-policy schema."""

    def test_unknown_top_level_key_names_key_and_suggests(self, write):
        """A misspelt key is unknown_key, names the key, and suggests the right one."""
        doc = policy_doc()
        doc["queus"] = {}
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("unknown_key", "$.queus")
        assert "'queus'" in issue.message and "did you mean 'queues'" in issue.message

    def test_unknown_condition_field(self, write):
        """An unknown field in a condition is unknown_key at that place."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidense": {"lt": 0.5}}, "to": "junior"}])
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("unknown_key", "$.rules[0].when.confidense")

    def test_unknown_operator(self, write):
        """An unknown operator is unknown_key at the operator."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidence": {"less": 0.5}}, "to": "junior"}])
        assert only_issue(write(doc)).json_path == "$.rules[0].when.confidence.less"

    def test_wrong_type_names_expected_and_got(self, write):
        """A string where an integer belongs is wrong_type, saying what was expected."""
        doc = policy_doc(metadata={**BASE["metadata"], "version": "one"})
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("wrong_type", "$.metadata.version")
        assert "expected integer" in issue.message

    def test_wrong_type_line_is_the_key_line(self, write):
        """The issue's line is the line of the offending key in the file."""
        text = Path(write(policy_doc())).read_text().replace("significant: false", "significant: maybe")
        path = write(text)
        line = next(n for n, l in enumerate(text.splitlines(), 1) if l.startswith("significant"))
        assert (only_issue(path).code, only_issue(path).line) == ("wrong_type", line)

    def test_missing_required_key(self, write):
        """A missing required key is missing_key naming it."""
        issue = only_issue(write(policy_doc(outcomes=None)))
        assert (issue.code, issue.json_path) == ("missing_key", "$.outcomes")

    def test_rule_without_when_is_a_schema_error(self, write):
        """A rule needs a condition: there is no implicit 'always'."""
        issue = only_issue(write(policy_doc(rules=[{"name": "a", "to": "junior"}])))
        assert (issue.code, issue.json_path) == ("missing_key", "$.rules[0].when")

    def test_combinator_mixed_with_field_is_refused(self, write):
        """A combinator must be the only key of its condition."""
        when = {"any": [{"confidence": {"lt": 0.5}}], "outcome": {"eq": "deny"}}
        issue = only_issue(write(policy_doc(rules=[{"name": "a", "when": when, "to": "junior"}])))
        assert issue.code == "schema" and "only key" in issue.message

    def test_sampling_rate_needs_a_queue(self, write):
        """A positive audit rate without a queue is missing_key."""
        issue = only_issue(write(policy_doc(sampling={"audit_auto_rate": 0.1})))
        assert (issue.code, issue.json_path) == ("missing_key", "$.sampling.queue")

    def test_every_schema_error_is_reported(self, write):
        """Several schema errors give several issues, sorted by line."""
        doc = policy_doc(kind="Policy", significant="yes", extra=1)
        issues = lint_paths([write(doc)])
        assert {i.code for i in issues} == {"schema", "wrong_type", "unknown_key"}
        assert [i.line for i in issues] == sorted(i.line for i in issues)


class TestSemanticChecks:
    """Schema-valid policies that are still wrong."""

    def test_unknown_queue(self, write):
        """A rule routing to an undeclared queue is unknown_queue at its 'to'."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidence": {"lt": 0.5}}, "to": "legal"}])
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path, issue.message) == (
            "unknown_queue",
            "$.rules[0].to",
            "queue 'legal' is not declared",
        )

    def test_issue_renders_file_line_path_code_message(self, write):
        """str(issue) is 'file:line: $.path: code: message'."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidence": {"lt": 0.5}}, "to": "legal"}])
        path = write(doc)
        line = next(n for n, l in enumerate(path.read_text().splitlines(), 1) if "to: legal" in l)
        assert str(only_issue(path)) == f"{path}:{line}: $.rules[0].to: unknown_queue: queue 'legal' is not declared"

    def test_unknown_default_queue(self, write):
        """An undeclared default queue is unknown_queue."""
        assert codes(write(policy_doc(default="nowhere"))) == ["unknown_queue"]

    def test_fail_closed_to_auto_is_refused(self, write):
        """fail_closed_to must name a queue: failing closed never means auto."""
        assert codes(write(policy_doc(fail_closed_to="auto"))) == ["unknown_queue"]

    def test_sampling_queue_must_be_declared(self, write):
        """The audit queue must be declared."""
        doc = policy_doc(sampling={"audit_auto_rate": 0.1, "queue": "audit"})
        assert codes(write(doc)) == ["unknown_queue"]

    def test_duplicate_rule(self, write):
        """Two rules with one name are duplicate_rule at the second."""
        rules = [
            {"name": "a", "when": {"confidence": {"lt": 0.5}}, "to": "junior"},
            {"name": "a", "when": {"input.amount": {"gt": 5}}, "to": "junior"},
        ]
        issue = only_issue(write(policy_doc(rules=rules)))
        assert (issue.code, issue.json_path) == ("duplicate_rule", "$.rules[1].name")

    def test_reserved_queue_name(self, write):
        """A queue named auto is reserved_queue_name."""
        doc = policy_doc(queues={**BASE["queues"], "auto": {"roles": ["x"]}})
        assert codes(write(doc)) == ["reserved_queue_name"]

    def test_reserved_rule_name(self, write):
        """A rule named default would be indistinguishable from the default route."""
        doc = policy_doc(rules=[{"name": "default", "when": {"confidence": {"lt": 0.5}}, "to": "junior"}])
        assert codes(write(doc)) == ["reserved_rule_name"]

    def test_threshold_range(self, write):
        """A confidence threshold above 1 is threshold_range at the operator."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidence": {"lt": 70}}, "to": "junior"}])
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("threshold_range", "$.rules[0].when.confidence.lt")

    def test_score_threshold_range(self, write):
        """Score thresholds are probabilities too."""
        doc = policy_doc(rules=[{"name": "a", "when": {"scores.fraud": {"between": [-0.1, 0.5]}}, "to": "junior"}])
        assert codes(write(doc)) == ["threshold_range"]

    def test_input_thresholds_are_not_range_checked(self, write):
        """Input fields are not probabilities: any number is a fine threshold."""
        assert codes(write(policy_doc())) == []

    def test_contradictory_bounds(self, write):
        """lt 0.5 together with gt 0.7 on one field is contradictory_condition."""
        doc = policy_doc(rules=[{"name": "a", "when": {"confidence": {"lt": 0.5, "gt": 0.7}}, "to": "junior"}])
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("contradictory_condition", "$.rules[0].when.confidence")

    def test_contradiction_across_all(self, write):
        """The check sees through 'all': two children bounding one field to nothing."""
        when = {"all": [{"input.amount": {"gte": 100}}, {"input.amount": {"lt": 50}}]}
        assert codes(write(policy_doc(rules=[{"name": "a", "when": when, "to": "junior"}]))) == [
            "contradictory_condition"
        ]

    def test_contradictory_equalities(self, write):
        """eq a together with not_in [a] is contradictory."""
        when = {"outcome": {"eq": "deny", "not_in": ["deny"]}}
        assert codes(write(policy_doc(rules=[{"name": "a", "when": when, "to": "junior"}]))) == [
            "contradictory_condition"
        ]

    def test_any_branches_are_not_contradictory(self, write):
        """Bounds in different 'any' branches do not contradict each other."""
        when = {"any": [{"confidence": {"lt": 0.5}}, {"confidence": {"gt": 0.7}}]}
        assert codes(write(policy_doc(rules=[{"name": "a", "when": when, "to": "junior"}]))) == []

    def test_unreachable_rule(self, write):
        """confidence lt 0.5 after confidence lt 0.7 can never match."""
        rules = [
            {"name": "a", "when": {"confidence": {"lt": 0.7}}, "to": "junior"},
            {"name": "b", "when": {"confidence": {"lt": 0.5}}, "to": "senior"},
        ]
        issue = only_issue(write(policy_doc(rules=rules)))
        assert (issue.code, issue.json_path) == ("unreachable_rule", "$.rules[1]")

    def test_unreachable_by_union_of_earlier_rules(self, write):
        """Earlier rules that together cover the whole range shadow a later one."""
        rules = [
            {"name": "a", "when": {"confidence": {"lt": 0.7}}, "to": "junior"},
            {"name": "b", "when": {"confidence": {"gte": 0.7}}, "to": "senior"},
            {"name": "c", "when": {"confidence": {"gt": 0.9}}, "to": "junior"},
        ]
        assert codes(write(policy_doc(rules=rules))) == ["unreachable_rule"]

    def test_boundary_gap_keeps_rule_reachable(self, write):
        """lt 0.7 then gt 0.7 leave exactly 0.7 for a later 'between'."""
        rules = [
            {"name": "a", "when": {"confidence": {"lt": 0.7}}, "to": "junior"},
            {"name": "b", "when": {"confidence": {"gt": 0.7}}, "to": "senior"},
            {"name": "c", "when": {"confidence": {"between": [0.6, 0.8]}}, "to": "junior"},
        ]
        assert codes(write(policy_doc(rules=rules))) == []

    def test_other_fields_do_not_shadow(self, write):
        """A rule on another field never makes a rule unreachable."""
        rules = [
            {"name": "a", "when": {"input.amount": {"lt": 0.7}}, "to": "junior"},
            {"name": "b", "when": {"confidence": {"lt": 0.5}}, "to": "senior"},
        ]
        assert codes(write(policy_doc(rules=rules))) == []

    def test_unknown_input_path(self, write):
        """An input path missing from input_schema is unknown_input_path."""
        doc = policy_doc(rules=[{"name": "a", "when": {"input.amout": {"gt": 1}}, "to": "junior"}])
        issue = only_issue(write(doc))
        assert (issue.code, issue.json_path) == ("unknown_input_path", "$.rules[0].when['input.amout']")

    def test_nested_input_path_is_followed(self, write):
        """Nested properties are followed: input.applicant.age is declared."""
        doc = policy_doc(rules=[{"name": "a", "when": {"input.applicant.age": {"gt": 70}}, "to": "junior"}])
        assert codes(write(doc)) == []

    def test_unknown_nested_input_path(self, write):
        """A nested path that stops being declared is unknown_input_path."""
        doc = policy_doc(rules=[{"name": "a", "when": {"input.applicant.income": {"gt": 1}}, "to": "junior"}])
        assert codes(write(doc)) == ["unknown_input_path"]

    def test_gdpr_adverse_auto_is_an_error(self, write):
        """significant: true and deny can reach auto: gdpr_auto_adverse error."""
        issue = only_issue(write(policy_doc(significant=True)))
        assert (issue.code, issue.severity, issue.json_path) == ("gdpr_auto_adverse", "error", "$.rules[2].to")

    def test_gdpr_basis_makes_it_a_warning(self, write):
        """With an Art. 22(2) basis stated, the same finding is a warning."""
        issue = only_issue(write(policy_doc(significant=True, gdpr_basis="contract")))
        assert (issue.code, issue.severity) == ("gdpr_auto_adverse", "warning")

    def test_gdpr_outcome_guard_excludes_adverse(self, write):
        """An auto rule restricted to non-adverse outcomes is fine."""
        rules = [
            {"name": "a", "when": {"all": [{"outcome": {"eq": "approve"}}, {"confidence": {"gt": 0.9}}]}, "to": "auto"}
        ]
        assert codes(write(policy_doc(significant=True, rules=rules))) == []

    def test_gdpr_default_auto(self, write):
        """A default route of auto on a significant decision lets adverse outcomes through."""
        doc = policy_doc(significant=True, rules=[], default="auto")
        assert codes(write(doc)) == ["gdpr_auto_adverse"]

    def test_adverse_not_in_outcomes(self, write):
        """Adverse outcomes must be listed outcomes."""
        assert codes(write(policy_doc(adverse_outcomes=["deny", "reject"]))) == ["adverse_not_in_outcomes"]

    def test_unknown_outcome_in_condition(self, write):
        """An outcome predicate naming an unlisted outcome is unknown_outcome."""
        doc = policy_doc(rules=[{"name": "a", "when": {"outcome": {"eq": "maybe"}}, "to": "junior"}])
        assert codes(write(doc)) == ["unknown_outcome"]

    def test_invalid_input_schema(self, write):
        """An input_schema that is not a valid JSON Schema is invalid_input_schema."""
        doc = policy_doc(input_schema={"type": "object", "properties": {"amount": {"type": "money"}}})
        assert "invalid_input_schema" in codes(write(doc))

    def test_implicit_fail_closed_queue_is_a_warning(self, write):
        """Without fail_closed_to, lint warns which queue gets what cannot be judged."""
        issue = only_issue(write(policy_doc(fail_closed_to=None)))
        assert (issue.code, issue.severity) == ("implicit_fail_closed_queue", "warning")

    def test_implicit_fail_closed_queue_is_the_default_queue(self, write):
        """The implicit fail-closed queue is the default route when that is a queue."""
        assert load_policy(write(policy_doc(fail_closed_to=None))).fail_closed_queue == "junior"

    def test_implicit_fail_closed_queue_is_first_queue_when_default_is_auto(self, write):
        """With default auto, the implicit fail-closed queue is the first declared queue."""
        doc = policy_doc(fail_closed_to=None, default="auto")
        assert load_policy(write(doc)).fail_closed_queue == "junior"

    def test_all_issues_are_collected(self, write):
        """Every semantic issue of a file is reported, not just the first."""
        rules = [
            {"name": "a", "when": {"confidence": {"lt": 7}}, "to": "legal"},
            {"name": "a", "when": {"input.nope": {"eq": 1}}, "to": "junior"},
        ]
        assert set(codes(write(policy_doc(rules=rules)))) == {
            "threshold_range",
            "unknown_queue",
            "duplicate_rule",
            "unknown_input_path",
        }

    def test_load_raises_with_every_error(self, write):
        """load_policy raises PolicyError carrying every error issue."""
        rules = [{"name": "a", "when": {"confidence": {"lt": 7}}, "to": "legal"}]
        with pytest.raises(PolicyError) as caught:
            load_policy(write(policy_doc(rules=rules)))
        assert {i.code for i in caught.value.issues} == {"threshold_range", "unknown_queue"}

    def test_warnings_ride_on_the_policy(self, write):
        """A policy with only warnings loads, and carries them."""
        policy = load_policy(write(policy_doc(fail_closed_to=None)))
        assert [w.code for w in policy.warnings] == ["implicit_fail_closed_queue"]


class TestDirectories:
    """Loading and linting whole directories."""

    def test_lint_directory_skips_tests_and_schema(self, write, tmp_path):
        """Directories expand to their policies, not their test cases or schema."""
        write(policy_doc(), "policies/a.yaml")
        write("not: [a policy", "policies/tests/cases.yaml")
        write("{}", "policies/schema/x.yml")
        assert lint_paths([tmp_path / "policies"]) == []

    def test_duplicate_decision(self, write, tmp_path):
        """Two files deciding the same decision type are refused."""
        write(policy_doc(), "p/a.yaml")
        write(policy_doc(metadata={**BASE["metadata"], "name": "other"}), "p/b.yaml")
        with pytest.raises(PolicyError) as caught:
            load_policy_dir(tmp_path / "p")
        assert [i.code for i in caught.value.issues] == ["duplicate_decision"]

    def test_load_dir_reports_every_file(self, write, tmp_path):
        """Errors of every file are raised together."""
        write("", "p/a.yaml")
        write("- x\n", "p/b.yaml")
        with pytest.raises(PolicyError) as caught:
            load_policy_dir(tmp_path / "p")
        assert sorted(i.code for i in caught.value.issues) == ["empty_file", "not_a_mapping"]

    def test_load_dir_returns_policies(self, write, tmp_path):
        """A clean directory loads every policy."""
        write(policy_doc(), "p/a.yaml")
        assert [p.decision for p in load_policy_dir(tmp_path / "p")] == ["loans.approval"]


class TestValidateInput:
    """Policy.validate_input checks a caller's input against the policy's input_schema."""

    def test_valid_input_has_no_problems(self, write):
        """A conforming input gives an empty list."""
        assert load_policy(write(policy_doc())).validate_input({"amount": 5}) == []

    def test_problem_names_input_path(self, write):
        """A bad value is reported at input.<path> with the schema's message."""
        problems = load_policy(write(policy_doc())).validate_input({"amount": -5})
        assert problems == [("input.amount", "-5 is less than the minimum of 0")]

    def test_missing_required_field(self, write):
        """A missing required field is reported at its own path."""
        assert load_policy(write(policy_doc())).validate_input({}) == [("input.amount", "is required")]

    def test_non_mapping_input_does_not_raise(self, write):
        """Garbage input is reported, never raised."""
        assert load_policy(write(policy_doc())).validate_input(None)  # type: ignore[arg-type]
