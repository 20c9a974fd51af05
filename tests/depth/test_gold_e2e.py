"""Gold cases end to end: loaded with ``signoff gold add``, injected beside real held decisions,
shaped like real tasks, never shown to a caller or counted, and scored per reviewer.

A copy of the claims policy sets ``gold_rate: 1.0`` on the junior queue (so every held claim in
it brings one gold case) and turns audit sampling off (no audit tasks to step over). Through the
generated stubs of a real gateway, on SQLite and PostgreSQL: the example gold file is loaded,
one real claim is held, alice claims both tasks of the queue and finds them alike, lets the gold
proposal stand, and the statistics, the decision log, the feedback export, explain and
``verify --state`` each do what the issue asks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml

from gateway.cli import main
from signoff.v1 import audit_pb2, decision_pb2, review_pb2
from tests.conftest import ROOT, Client, auth
from tests.gateway.backends import BACKENDS, copy_policies, edit_claims_policy, served
from tests.gateway.helpers import claim, claim_request, decide, submit

EXAMPLE = ROOT / "docs" / "examples" / "claims-gold.yaml"
CASES = yaml.safe_load(EXAMPLE.read_text())["cases"]


def _policies(root: Path) -> Path:
    policies = edit_claims_policy(copy_policies(root / "policies"), junior="    gold_rate: 1.0\n")
    claims = policies / "claims-triage.yaml"
    claims.write_text(claims.read_text().replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.0"))
    return policies


def _case_of(gold: decision_pb2.Decision) -> dict:  # type: ignore[type-arg]
    """The example file's case a gold decision was made from (the amounts tell them apart)."""
    (case,) = [c for c in CASES if c["input"]["amount"] == gold.input["amount"]]
    return case


def _get(client: Client, decision_id: str, who: str) -> decision_pb2.Decision:
    req = decision_pb2.GetDecisionRequest(decision_id=decision_id)
    return client.decisions.GetDecision(req, metadata=auth(who), timeout=10).decision


def _code(fn) -> grpc.StatusCode:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        fn()
    return err.value.code()


def _fields(message) -> set[str]:  # type: ignore[no-untyped-def]
    """The names of the fields ``message`` has set: what a reviewer could tell two tasks apart by."""
    return {f.name for f, _ in message.ListFields()}


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """The gateway with the example gold file loaded and one held claim (and its gold case) claimed by alice."""
    root = tmp_path_factory.mktemp("gold")
    policies = _policies(root)
    with served(request.param, root, policies) as (url, client, _app):
        assert main(["gold", "add", str(EXAMPLE), "--policies", str(policies), "--db", url, "--actor", "ines"]) == 0
        held = decide(client, claim_request(confidence=0.85, amount=900))
        assert held.route == "junior"
        listed = client.review.ListTasks(
            review_pb2.ListTasksRequest(queue="junior"), metadata=auth("alice"), timeout=10
        )
        first, second = claim(client, "junior", "alice"), claim(client, "junior", "alice")
        real, gold = (first, second) if first.decision.decision_id == held.decision_id else (second, first)
        yield {"url": url, "client": client, "held": held, "real": real, "gold": gold, "listed": listed.tasks}


class TestInjection:
    """The gold case joins the queue beside the real claim, and looks like one."""

    def test_the_queue_holds_the_real_task_and_one_gold_case(self, world: dict) -> None:  # type: ignore[type-arg]
        """Two open tasks in junior after one held claim: the claim's, and the injected case."""
        assert len(world["listed"]) == 2
        assert world["real"].decision.decision_id == world["held"].decision_id
        gold = world["gold"].decision
        assert gold.decision_id != world["held"].decision_id
        case = _case_of(gold)
        assert (gold.proposal.outcome, gold.proposal.confidence) == (
            case["proposal"]["outcome"],
            pytest.approx(case["proposal"]["confidence"]),
        )

    def test_a_gold_task_has_the_shape_of_a_real_one(self, world: dict) -> None:  # type: ignore[type-arg]
        """The same task kind and queue, and the same fields set on the task and the decision."""
        real, gold = world["real"], world["gold"]
        assert gold.task.kind == real.task.kind == review_pb2.TASK_KIND_REVIEW
        assert gold.task.queue == real.task.queue == "junior"
        assert _fields(gold.task) == _fields(real.task)
        assert _fields(gold.decision) == _fields(real.decision)
        assert gold.decision.rule == "review_band" and gold.decision.status == real.decision.status

    def test_no_caller_can_see_a_gold_case(self, world: dict) -> None:  # type: ignore[type-arg]
        """Get and Contest answer NOT_FOUND to a caller; the queue's reviewer and an auditor see it."""
        client, gold_id = world["client"], world["gold"].decision.decision_id
        assert _code(lambda: _get(client, gold_id, "caller")) is grpc.StatusCode.NOT_FOUND
        contest = decision_pb2.ContestDecisionRequest(decision_id=gold_id, statement="not mine")
        code = _code(lambda: client.decisions.ContestDecision(contest, metadata=auth("caller"), timeout=10))
        assert code is grpc.StatusCode.NOT_FOUND
        assert _get(client, gold_id, "alice").decision_id == gold_id
        assert _get(client, gold_id, "carol").decision_id == gold_id


class TestScoring:
    """In order: alice signs off both; the statistics score the gold case and count only the real one."""

    def test_1_alice_signs_off_both(self, world: dict) -> None:  # type: ignore[type-arg]
        """She approves the real claim and lets the gold proposal stand: a sign-off like any other."""
        client = world["client"]
        done = submit(client, world["real"].task.task_id, "alice", "approve").decision
        assert done.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        gold = submit(client, world["gold"].task.task_id, "alice", "approve").decision
        assert gold.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    def test_2_reviewer_stats_score_the_gold_case(self, world: dict) -> None:  # type: ignore[type-arg]
        """One gold review for alice; right iff the proposal she let stand was the expected answer."""
        rows = (
            world["client"]
            .audit.ReviewerStats(audit_pb2.ReviewerStatsRequest(), metadata=auth("carol"), timeout=10)
            .rows
        )
        (row,) = [r for r in rows if r.reviewer == "alice"]
        case = _case_of(world["gold"].decision)
        right = case["proposal"]["outcome"] == case["expected"]
        assert (row.gold_reviews, row.reviews) == (1, 1)  # the gold review is not one of her reviews
        assert row.has_gold_accuracy and row.gold_accuracy == (1.0 if right else 0.0)
        assert (row.gold_traps, row.gold_traps_accepted) == ((0, 0) if right else (1, 1))

    def test_3_override_stats_and_the_decision_log_leave_it_out(self, world: dict) -> None:  # type: ignore[type-arg]
        """OverrideStats counts one sign-off; QueryDecisions returns only the real claim."""
        client = world["client"]
        groups = client.audit.OverrideStats(
            audit_pb2.OverrideStatsRequest(group_by=["reviewer"]), metadata=auth("carol"), timeout=10
        ).groups
        assert [(g.key["reviewer"], g.reviewed) for g in groups] == [("alice", 1)]
        found = client.audit.QueryDecisions(audit_pb2.QueryDecisionsRequest(), metadata=auth("carol"), timeout=10)
        assert [d.decision_id for d in found.decisions] == [world["held"].decision_id]

    def test_4_the_feedback_export_leaves_it_out(self, world: dict, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Training rows come from real decisions only: one row, the real claim."""
        args = ["export", "feedback", "--since", "2000-01-01", "--until", "2100-01-01", "--db", world["url"]]
        assert main(args) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["decision_id"] for r in rows] == [world["held"].decision_id]

    def test_5_gold_list_shows_it_served_and_scored(self, world: dict, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Three cases loaded; the one served was decided once, right or not as alice was."""
        assert main(["gold", "list", "--db", world["url"]]) == 0
        out = capsys.readouterr().out
        lines = [line for line in out.splitlines() if line.split()[0] not in ("case", "*")]
        assert len(lines) == 3
        case = _case_of(world["gold"].decision)
        (served,) = [line for line in lines if line.endswith(case["name"])]
        right = int(case["proposal"]["outcome"] == case["expected"])
        assert served.split()[4:7] == ["1", "1", str(right)]

    def test_6_the_log_and_the_table_agree(self, world: dict, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """verify --state finds the gold row's status and route where its events put them; explain
        of the gold case says it is one, with its input, its known answer and the decision beside it."""
        assert main(["audit", "verify", "--state", "--db", world["url"]]) == 0
        capsys.readouterr()
        assert main(["audit", "explain", world["gold"].decision.decision_id, "--db", world["url"]]) == 0
        out = capsys.readouterr().out
        case = _case_of(world["gold"].decision)
        assert f"beside decision {world['held'].decision_id}" in out and "No caller asked for it" in out, out
        assert f"known answer {case['expected']}" in out
        assert f"amount={case['input']['amount']}" in out  # its input, from the injection event


class TestLoading:
    """``signoff gold add``: what is refused, and loading twice."""

    def test_loading_the_same_file_again_writes_nothing(self, world: dict, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Every case is known by a digest of what it is: the second load says so and logs nothing."""
        policies = _policies(tmp_path)
        code = main(["gold", "add", str(EXAMPLE), "--policies", str(policies), "--db", world["url"]])
        assert code == 0 and "every one is loaded already, nothing written" in capsys.readouterr().out

    def test_a_case_the_policy_decides_automatically_is_refused_with_its_line(
        self, world: dict, tmp_path: Path, capsys
    ) -> None:  # type: ignore[no-untyped-def,type-arg]
        """At 0.97 the claim is decided automatically: it would never reach a reviewer. Exit 1, file:line."""
        path = tmp_path / "auto.yaml"
        path.write_text(
            "decision: claims.payout\ncases:\n  - name: confident\n    input: {amount: 300, claim_type: auto}\n"
            "    proposal: {outcome: approve, confidence: 0.97}\n    expected: approve\n"
        )
        code = main(["gold", "add", str(path), "--policies", str(_policies(tmp_path)), "--db", world["url"]])
        out = capsys.readouterr().out
        assert code == 1 and out.startswith(f"{path}:3: $.cases[0]: gold_never_reviewed:")

    def test_an_unlisted_outcome_is_refused_and_nothing_is_loaded(self, world: dict, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """A case expecting 'refund' (not in the policy's outcomes): exit 1 with the line; the store is untouched."""
        path = tmp_path / "bad.yaml"
        path.write_text(EXAMPLE.read_text().replace("expected: partial", "expected: refund"))
        code = main(["gold", "add", str(path), "--policies", str(_policies(tmp_path)), "--db", world["url"]])
        out = capsys.readouterr().out
        assert code == 1 and "unknown_outcome" in out and f"{path}:" in out
        assert main(["gold", "list", "--db", world["url"]]) == 0
        assert len([ln for ln in capsys.readouterr().out.splitlines() if ln.split()[0] not in ("case", "*")]) == 3


class TestRetire:
    """``signoff gold retire``: a case whose answer no longer holds stops being injected."""

    def test_retired_cases_are_no_longer_injected_and_keep_their_scores(self, world: dict, capsys) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Every example case retired: the next held claim comes alone; the list marks them; alice's
        earlier gold review still counts; a second retire, an unknown id and a short id are refused."""
        url, client = world["url"], world["client"]
        assert main(["gold", "list", "--db", url]) == 0
        ids = [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if ln.split()[0] not in ("case", "*")]
        assert len(ids) == 3
        for cid in ids:
            assert main(["gold", "retire", cid, "--reason", "answer key revised", "--db", url, "--actor", "ines"]) == 0
            assert "retired: no longer injected" in capsys.readouterr().out
        assert main(["gold", "retire", ids[0], "--reason", "again", "--db", url]) == 1
        assert "retired already (ines: answer key revised)" in capsys.readouterr().err
        assert main(["gold", "retire", "0" * 12, "--reason", "x", "--db", url]) == 1
        assert main(["gold", "retire", "abc", "--reason", "x", "--db", url]) == 2
        capsys.readouterr()
        held = decide(client, claim_request(confidence=0.85, amount=700))
        listed = client.review.ListTasks(
            review_pb2.ListTasksRequest(queue="junior"), metadata=auth("alice"), timeout=10
        )
        assert [t.decision_id for t in listed.tasks] == [held.decision_id]
        assert main(["gold", "list", "--db", url]) == 0
        assert capsys.readouterr().out.count("(retired)") == 3
        rows = client.audit.ReviewerStats(audit_pb2.ReviewerStatsRequest(), metadata=auth("carol"), timeout=10).rows
        (alice,) = [r for r in rows if r.reviewer == "alice"]
        assert alice.gold_reviews == 1
