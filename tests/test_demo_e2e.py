"""`signoff demo` against a real `signoff serve` process: the gateway's numbers are the simulation's numbers."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from gateway import demo
from signoff.v1 import review_pb2, review_pb2_grpc
from tests.conftest import spawn_serve

ROOT = Path(__file__).resolve().parent.parent
CLAIMS = 200
SEED = 7


def _serve(tmp: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `signoff serve` on port 0 over a fresh SQLite file; return it and its address."""
    policies = tmp / "policies"
    policies.mkdir()
    shutil.copy(ROOT / "policies" / "claims-triage.yaml", policies)
    with (tmp / "serve.log").open("w") as log:
        return spawn_serve(f"sqlite:///{tmp / 'signoff.db'}", policies, stderr=log)


def _demo(address: str, sla_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `signoff demo` as a user would, in its own process (``sla_dir``: with the SLA drill there)."""
    sla = ["--sla-dir", str(sla_dir)] if sla_dir is not None else ["--sla-seconds", "0"]
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--claims",
            str(CLAIMS),
            "--seed",
            str(SEED),
            "--concurrency",
            "4",
            "--address",
            address,
            *sla,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a running gateway process with the claims-triage policy."""
    proc, address = _serve(tmp_path_factory.mktemp("demo-e2e"))
    yield address
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def output(served: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """What one `signoff demo` run printed (with the SLA drill); it must have exited 0."""
    run = _demo(served, tmp_path_factory.mktemp("demo-sla"))
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def day() -> list[demo.Claim]:
    """The same claims the demo sent."""
    return list(demo.generate(CLAIMS, SEED))


def _split(text: str) -> dict[str, int]:
    """The route -> count lines of the printed split."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^  (auto|junior|senior)\s+(\d+)\s+[\d.]+%$", text, re.M)}


class TestDemoRun:
    """One demo run of 200 claims against a fresh gateway."""

    def test_route_split_is_the_simulated_split(self, output: str, day: list[demo.Claim]) -> None:
        """The printed per-route counts equal the policy thresholds applied to the same claims."""
        assert _split(output) == dict(Counter(demo.expected_route(c) for c in day))

    def test_route_split_is_near_78_15_7(self, output: str) -> None:
        """Even at 200 claims, auto stays within 70-86% and the review routes take the rest."""
        split = _split(output)
        assert sum(split.values()) == CLAIMS
        assert 0.70 <= split["auto"] / CLAIMS <= 0.86

    def test_every_route_matches_the_thresholds(self, output: str) -> None:
        """The gateway routed every claim where the thresholds say."""
        assert f"routes matching the policy thresholds: {CLAIMS}/{CLAIMS}" in output

    def test_override_rate_counts_the_wrong_proposals(self, output: str, day: list[demo.Claim]) -> None:
        """Reviewers overrode exactly the wrong proposals among the held claims."""
        held = [c for c in day if demo.expected_route(c) != "auto"]
        wrong = sum(not c.correct for c in held)
        assert f"override rate among reviewed cases: {wrong}/{len(held)} =" in output

    def test_override_stats_table_agrees(self, output: str, day: list[demo.Claim]) -> None:
        """OverrideStats by queue shows each review queue's reviewed and overridden counts."""
        rows = {
            m[1]: (int(m[2]), int(m[3]))
            for m in re.finditer(r"^  (junior|senior|audit)\s+(\d+)\s+\d+\s+\d+\s+(\d+)\s", output, re.M)
        }
        for queue in ("junior", "senior"):
            claims = [c for c in day if demo.expected_route(c) == queue]
            assert rows[queue] == (len(claims), sum(not c.correct for c in claims)), queue

    def test_rubber_stamper_is_flagged_and_careful_reviewer_is_not(self, output: str) -> None:
        """The engagement drill's ReviewerStats table flags erin (approves everything) and not alice."""
        assert "flagged as rubber-stampers: erin\n" in output
        rows = {m[1]: m[2] for m in re.finditer(r"^  \*\s+(\w+)\s+.*?(\S+)$", output, re.M)}
        assert "fast_approver" in rows["erin"].split(",") and rows["alice"] == "-"

    def test_a_rubber_stamped_adverse_decision_is_contested_and_heard(self, output: str) -> None:
        """The claims service contests one of erin's adverse sign-offs; bob, who did not decide it,
        hears it in the audit queue: reversed to the file's outcome when the model was wrong."""
        assert "contest (GDPR Art. 22(3)): the claims service contested decision" in output
        m = re.search(
            r"model's '(\w+)' stand; the file says '(\w+)'\n  heard in 'audit' by bob: (\w+), outcome '(\w+)'", output
        )
        assert m, output
        proposed, truth, state, outcome = m.groups()
        assert (state, outcome) == (("reversed", truth) if proposed != truth else ("upheld", proposed))

    def test_an_sla_timeout_escalates_a_claim_nobody_took(self, output: str) -> None:
        """On the drill's own gateway (junior SLA cut to 3 s) the held claim is escalated to senior."""
        assert "the junior SLA cut from 4h to 3s" in output
        assert re.search(r"after [\d.]+ s the timer escalated it to 'senior' \(status PENDING_REVIEW\)", output), output

    def test_chain_verifies_and_head_hash_is_printed(self, output: str) -> None:
        """VerifyChain is ok and the head hash is 64 hex digits."""
        assert "audit chain: ok" in output
        assert re.search(r"^  head hash [0-9a-f]{64}$", output, re.M)

    def test_queues_are_empty_afterwards(self, output: str, served: str) -> None:
        """The simulated reviewers worked junior, senior and audit until nothing was left."""
        with grpc.insecure_channel(served) as ch:
            stub = review_pb2_grpc.ReviewServiceStub(ch)
            md = (("authorization", "Bearer dev-bob-token"),)
            left = {
                q: len(stub.ListTasks(review_pb2.ListTasksRequest(queue=q), metadata=md).tasks)
                for q in ("junior", "senior", "audit")
            }
        assert left == {"junior": 0, "senior": 0, "audit": 0}

    def test_a_second_run_does_not_collide(self, output: str, served: str) -> None:
        """Re-running against the same database uses new request ids and routes every claim again."""
        again = _demo(served)
        assert again.returncode == 0, again.stderr
        assert sum(_split(again.stdout).values()) == CLAIMS


class TestDemoErrors:
    """A demo that cannot reach the gateway says so in one line."""

    def test_no_gateway_is_one_line_and_exit_1(self) -> None:
        """Nothing listening: exit status 1 and a single UNAVAILABLE line on stderr."""
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "demo",
                "--claims",
                "3",
                "--address",
                "127.0.0.1:1",
                "--timeout",
                "5",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert run.returncode == 1
        assert run.stderr.count("\n") == 1 and "UNAVAILABLE" in run.stderr
