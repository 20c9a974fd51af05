"""Review depth in the policy language: SLAs, quorums, contest, reopen, blind and gold shares."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.cli import main
from gateway.errors import PolicyError
from gateway.policy import lint_paths, load_policy
from gateway.policy.analysis import parse_duration
from gateway.policy.model import Contest, Quorum, Reopen, Route, Sla, TimeoutAction
from gateway.rpc.auth import token_hash
from tests.policy.conftest import BASE, REPO

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "review_depth_lint.yaml").read_text())["cases"]
EXAMPLE = REPO / "docs" / "examples" / "claims-review-depth.yaml"


def patched(patch: dict[str, Any]) -> dict[str, Any]:
    """BASE with each dotted path of ``patch`` set (integer parts index lists)."""
    doc = copy.deepcopy(BASE)
    for dotted, value in patch.items():
        node: Any = doc
        *parents, last = [int(p) if p.isdigit() else p for p in dotted.split(".")]
        for part in parents:
            node = node[part]
        node[last] = value
    return doc


def full_doc() -> dict[str, Any]:
    """The first YAML case: a policy using every review-depth key, lint clean."""
    return patched(CASES[0]["patch"])


class TestLintCases:
    """The YAML lint cases: each bad input is refused with its stable code at its place."""

    @pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
    def test_case(self, case, write):
        """The case's patched policy lints to exactly the expected codes, the first at the expected path."""
        staff = {k: frozenset(v) for k, v in case["staff"].items()} if "staff" in case else None
        issues = [i for i in lint_paths([write(patched(case["patch"]))], staff)]
        assert sorted(i.code for i in issues) == case["expect"], [str(i) for i in issues]
        if "at" in case:
            assert case["at"] in [i.json_path for i in issues]

    def test_issue_names_the_line_of_the_key(self, write):
        """A review-depth issue carries the file and the line of the offending key."""
        doc = patched({"queues.junior.sla": {"due": "1h", "warn": "2h", "on_timeout": {"action": "expire"}}})
        path = write(doc)
        line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "warn: 2h" in text)
        (issue,) = lint_paths([path])
        assert str(issue).startswith(f"{path}:{line}: $.queues.junior.sla.warn: warn_after_due:")

    def test_errors_refuse_the_load(self, write):
        """A policy with a review-depth error does not load: PolicyError carries the issue."""
        with pytest.raises(PolicyError) as caught:
            load_policy(write(patched({"queues.junior.blind_rate": 3})))
        assert [i.code for i in caught.value.issues] == ["rate_range"]

    def test_staff_checks_are_skipped_without_a_principals_file(self, write):
        """Without the principals file lint cannot know who exists, so it claims nothing about it."""
        doc = patched(
            {"queues.junior.reviewers": 5, "queues.junior.on_disagreement": {"action": "escalate", "queue": "senior"}}
        )
        assert [i.code for i in lint_paths([write(doc)])] == []

    def test_every_depth_key_is_enforced_so_none_is_warned(self, write):
        """Gold injection is served like four-eyes, blind-first, contest and reopen: a policy with
        every review-depth key lints without a single issue."""
        assert lint_paths([write(full_doc())]) == []


class TestCompiledDepth:
    """What a loaded policy holds for the review use cases."""

    def test_queue_sla_quorum_and_rates(self, write):
        """Queue keys become Sla, Quorum and rates, durations in seconds."""
        policy = load_policy(write(full_doc()))
        junior, senior = policy.queues["junior"], policy.queues["senior"]
        assert junior.sla == Sla(4 * 3600, TimeoutAction("escalate", queue="senior"), 3 * 3600)
        assert (junior.blind_rate, junior.gold_rate, junior.quorum) == (0.1, 0.02, Quorum())
        assert senior.sla == Sla(86400, TimeoutAction("expire"))
        assert senior.quorum == Quorum(2, "unanimous", "senior")

    def test_contest_and_reopen(self, write):
        """contest and reopen become their model types."""
        policy = load_policy(write(full_doc()))
        assert policy.contest == Contest(30 * 86400, "senior", ("caller",))
        assert policy.reopen == Reopen(("auditor",), "senior")

    def test_defaults_when_absent(self, write):
        """A policy without the keys has no SLA, one reviewer, no blind or gold share, no contest."""
        policy = load_policy(write(copy.deepcopy(BASE)))
        junior = policy.queues["junior"]
        assert (junior.sla, junior.quorum, junior.blind_rate, junior.gold_rate) == (None, Quorum(), 0.0, 0.0)
        assert (policy.contest, policy.reopen, dict(policy.rule_quorums)) == (None, None, {})

    def test_rule_quorum_overrides_its_queue(self, write):
        """A rule's reviewers override its queue's, keeping the queue's disagreement route."""
        doc = patched(
            {
                "queues.junior.on_disagreement": {"action": "escalate", "queue": "senior"},
                "rules.1.reviewers": 3,
                "rules.1.agreement": "majority",
            }
        )
        policy = load_policy(write(doc))
        route = Route("junior", "unsure", (), policy.ref)
        assert policy.quorum(route) == Quorum(3, "majority", "senior")

    def test_quorum_falls_back_to_the_queue(self, write):
        """A decision routed by a rule without quorum keys needs its queue's quorum."""
        policy = load_policy(write(full_doc()))
        assert policy.quorum(Route("senior", "big", (), policy.ref)) == Quorum(2, "unanimous", "senior")
        assert policy.quorum(Route("auto", "sure", (), policy.ref)) == Quorum()

    def test_depth_keys_change_the_digest(self, write):
        """The digest covers the new keys: an SLA change is a different policy text."""
        plain = load_policy(write(copy.deepcopy(BASE), "a.yaml"))
        with_sla = load_policy(
            write(patched({"queues.junior.sla": {"due": "1h", "on_timeout": {"action": "expire"}}}), "b.yaml")
        )
        assert plain.ref.digest != with_sla.ref.digest


class TestParseDuration:
    """Durations: whole numbers with units d, h, m, s, in that order."""

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("90s", 90), ("15m", 900), ("4h", 14400), ("1h30m", 5400), ("30d", 2592000), ("1d2h3m4s", 93784)],
    )
    def test_valid(self, text, seconds):
        """Each valid duration gives its whole seconds."""
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["", "0s", "4", "4 h", "h", "30m2h", "1.5h", "PT4H", "-1h", 4, None])
    def test_invalid(self, text):
        """Anything else, zero included, is None."""
        assert parse_duration(text) is None


class TestLintCli:
    """signoff policy lint --principals."""

    def principals(self, tmp_path: Path, people: dict[str, list[str]]) -> Path:
        """Write a principals file giving each name its roles."""
        path = tmp_path / "principals.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "principals": [
                        {"name": n, "token_sha256": token_hash(f"t-{n}"), "roles": r} for n, r in people.items()
                    ]
                }
            )
        )
        return path

    def test_too_few_reviewers_exits_one(self, write, tmp_path, capsys):
        """A quorum the principals file cannot supply is an error line and exit 1."""
        doc = patched(
            {"queues.junior.reviewers": 2, "queues.junior.on_disagreement": {"action": "escalate", "queue": "senior"}}
        )
        path = write(doc)
        code = main(["policy", "lint", "--principals", str(self.principals(tmp_path, {"ann": ["clerk"]})), str(path)])
        out = capsys.readouterr().out
        assert code == 1 and "too_few_reviewers" in out and "only 1 (ann)" in out

    def test_enough_reviewers_exits_zero(self, write, tmp_path, capsys):
        """With enough people the same policy lints clean."""
        doc = patched(
            {"queues.junior.reviewers": 2, "queues.junior.on_disagreement": {"action": "escalate", "queue": "senior"}}
        )
        people = {"ann": ["clerk"], "cat": ["clerk"]}
        code = main(["policy", "lint", "--principals", str(self.principals(tmp_path, people)), str(write(doc))])
        assert code == 0 and capsys.readouterr().out.endswith("0 errors, 0 warnings\n")

    def test_bad_principals_file_is_one_line(self, write, tmp_path, capsys):
        """A malformed principals file is one stderr line and exit 2, never a traceback."""
        bad = tmp_path / "p.yaml"
        bad.write_text("principals: [{name: x}]\n")
        code = main(["policy", "lint", "--principals", str(bad), str(write(copy.deepcopy(BASE)))])
        err = capsys.readouterr().err
        assert code == 2 and len(err.splitlines()) == 1 and "token_sha256" in err and "Traceback" not in err

    def test_missing_principals_file_is_one_line(self, write, tmp_path, capsys):
        """A principals path that does not exist is one stderr line and exit 2."""
        code = main(["policy", "lint", "--principals", str(tmp_path / "none.yaml"), str(write(copy.deepcopy(BASE)))])
        err = capsys.readouterr().err
        assert code == 2 and "none.yaml" in err and len(err.splitlines()) == 1


class TestExample:
    """The shipped example that shows every review-depth key together."""

    def test_example_lints_clean_with_the_dev_principals(self, capsys):
        """docs/examples/claims-review-depth.yaml lints clean, without a warning, against the dev principals file."""
        code = main(["policy", "lint", "--principals", str(REPO / "config" / "dev-principals.yaml"), str(EXAMPLE)])
        lines = capsys.readouterr().out.splitlines()
        assert code == 0 and lines[-1].startswith("0 errors, 0 warnings"), lines
