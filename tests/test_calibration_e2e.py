"""`signoff demo`, then `signoff calibrate`, `signoff policy replay` and `signoff monitor` on what it stored."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_demo_e2e import ROOT, _serve

CLAIMS = 2000


def _stored_claims(url: str) -> int:
    """How many claims.payout decisions the database holds."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(text("SELECT count(*) FROM decisions WHERE decision_type = 'claims.payout'")).scalar_one()
            )
    finally:
        engine.dispose()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the signoff command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A gateway database filled by one demo run, the gateway stopped; and a scratch directory."""
    tmp = tmp_path_factory.mktemp("calibration-e2e")
    proc, address = _serve(tmp)
    try:
        run = _cli("demo", "--claims", str(CLAIMS), "--seed", "244", "--concurrency", "8", "--address", address)
        assert run.returncode == 0, run.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    yield f"sqlite:///{tmp / 'signoff.db'}", tmp


def _moved(tmp: Path, auto: str) -> Path:
    """claims-triage with its auto threshold moved to ``auto`` and the version bumped."""
    text = (ROOT / "policies" / "claims-triage.yaml").read_text()
    text = text.replace("{confidence: {lte: 0.92}}", f"{{confidence: {{lte: {auto}}}}}")
    text = text.replace("{confidence: {gt: 0.92}}", f"{{confidence: {{gt: {auto}}}}}")
    path = tmp / f"moved-{auto}.yaml"
    path.write_text(text.replace("  version: 2\n", "  version: 3\n"))
    return path


class TestCalibrateAfterDemo:
    """The certificate for claims.payout from the demo's own history."""

    def test_prints_a_certificate_for_claims_payout(self, db: tuple[str, Path]) -> None:
        """Text output names the decision type, the policy version, the model and the auto tier."""
        run = _cli(
            "calibrate",
            "--db",
            db[0],
            "--decision-type",
            "claims.payout",
            "--policy",
            str(ROOT / "policies" / "claims-triage.yaml"),
        )
        assert run.returncode == 0, run.stderr
        assert "threshold certificate for claims.payout" in run.stdout
        assert "claims-triage v2" in run.stdout and "auto threshold:" in run.stdout

    def test_json_has_threshold_key_and_the_promise(self, db: tuple[str, Path]) -> None:
        """--format json gives `threshold` (a number or null), alpha, delta, grid, window and models."""
        run = _cli("calibrate", "--db", db[0], "--decision-type", "claims.payout", "--alpha", "0.1", "--format", "json")
        cert = json.loads(run.stdout)
        assert "threshold" in cert and cert["alpha"] == 0.1 and cert["delta"] == 0.1
        assert cert["grid"]["points"] == 100 and cert["models"] and cert["window"]["since"]
        assert cert["policies"][0]["digest"]

    def test_write_policy_writes_a_version_that_lints(self, tmp_path: Path) -> None:
        """--write-policy writes version 3 citing the certificate's sha256, and it passes policy lint."""
        import numpy as np

        rng = np.random.default_rng(5)
        rows = []
        for i in range(3000):
            c = float(np.round(rng.uniform(0.8, 1.0), 3))
            wrong = rng.random() < (1 - c) * 0.5
            rows.append(
                {
                    "decision_type": "claims.payout",
                    "created_at": f"2026-01-01T00:{i % 60:02d}:00.000000Z",
                    "proposal_outcome": "approve",
                    "proposal_confidence": c,
                    "model": "m",
                    "model_version": "1",
                    "final_outcome": "deny" if wrong else "approve",
                    "policy_name": "claims-triage",
                    "policy_version": 1,
                    "route": "junior",
                    "label_source": "review",
                    "pi": 1.0,
                    "action": "OVERRIDE" if wrong else "APPROVE",
                }
            )
        f = tmp_path / "rows.jsonl"
        f.write_text("".join(json.dumps(r) + "\n" for r in rows))
        out = tmp_path / "next.yaml"
        run = _cli(
            "calibrate",
            "--file",
            str(f),
            "--alpha",
            "0.1",
            "--grid",
            "0.75:0.995:0.005",
            "--policy",
            str(ROOT / "policies" / "claims-triage.yaml"),
            "--write-policy",
            str(out),
        )
        assert run.returncode == 0, run.stderr
        assert "version: 3" in out.read_text() and "sha256:" in out.read_text()
        assert _cli("policy", "lint", str(out)).returncode == 0

    def test_too_few_labels_says_what_is_missing(self, db: tuple[str, Path]) -> None:
        """At a strict alpha nothing is certified, and the answer says how many audits would be needed."""
        run = _cli(
            "calibrate", "--db", db[0], "--decision-type", "claims.payout", "--alpha", "0.001", "--format", "json"
        )
        cert = json.loads(run.stdout)
        assert run.returncode == 0 and cert["threshold"] is None
        assert "audited_needed" in cert["tiers"][0]["missing"]


class TestReplayAfterDemo:
    """Replaying a policy with a moved threshold on the demo's stored decisions."""

    def test_prints_the_impact_of_a_moved_threshold(self, db: tuple[str, Path]) -> None:
        """Lowering the auto threshold to 0.80 moves junior decisions to auto, and says so."""
        run = _cli(
            "policy",
            "replay",
            str(_moved(db[1], "0.80")),
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--db",
            db[0],
        )
        assert run.returncode == 0, run.stderr
        assert "junior -> auto" in run.stdout and "known errors that would have slipped through" in run.stdout

    def test_json_and_markdown(self, db: tuple[str, Path]) -> None:
        """JSON totals every stored decision; Markdown has the transition table header."""
        moved = str(_moved(db[1], "0.80"))
        rep = json.loads(
            _cli(
                "policy",
                "replay",
                moved,
                "--since",
                "2000-01-01",
                "--until",
                "2100-01-01",
                "--db",
                db[0],
                "--format",
                "json",
            ).stdout
        )
        stored = _stored_claims(db[0])  # the demo's day and its reviewer-engagement drill
        assert stored >= CLAIMS
        assert sum(t["count"] for t in rep["transitions"]) == rep["decisions"] == stored
        md = _cli(
            "policy",
            "replay",
            moved,
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--db",
            db[0],
            "--format",
            "markdown",
        ).stdout
        assert "| old route | new route | decisions |" in md

    def test_writes_nothing(self, db: tuple[str, Path]) -> None:
        """The database file is byte-identical after a replay."""
        path = Path(db[0].removeprefix("sqlite:///"))
        before = path.read_bytes()
        _cli(
            "policy",
            "replay",
            str(_moved(db[1], "0.85")),
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--db",
            db[0],
        )
        assert path.read_bytes() == before


class TestMonitorAfterDemo:
    """Monitors on the demo's window."""

    def test_text_json_and_prometheus(self, db: tuple[str, Path]) -> None:
        """JSON has PSI, override check and alarm state; the gauges file has signoff_monitor_ gauges."""
        prom = db[1] / "monitor.prom"
        run = _cli(
            "monitor",
            "--db",
            db[0],
            "--decision-type",
            "claims.payout",
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--reference-since",
            "2000-01-01",
            "--reference-until",
            "2100-01-01",
            "--alpha",
            "0.2",
            "--format",
            "json",
            "--prometheus",
            str(prom),
        )
        assert run.returncode == 0, run.stderr
        (model,) = json.loads(run.stdout)["models"].values()
        assert model["psi"] == pytest.approx(0.0, abs=1e-9) and model["audited_error"]["alarm"] is False
        assert "signoff_monitor_alarm{" in prom.read_text()


class TestBadInput:
    """Each mistake: one line on stderr, exit status 1."""

    def _one_line(self, run: subprocess.CompletedProcess[str], needle: str) -> None:
        assert run.returncode == 1, (run.stdout, run.stderr)
        assert run.stderr.count("\n") == 1 and needle in run.stderr, run.stderr

    def test_alpha_outside_unit_interval(self, db: tuple[str, Path]) -> None:
        """--alpha 1.5 is refused naming the flag."""
        self._one_line(
            _cli("calibrate", "--db", db[0], "--decision-type", "claims.payout", "--alpha", "1.5"),
            "--alpha: 1.5 is outside (0, 1)",
        )

    def test_delta_outside_unit_interval(self, db: tuple[str, Path]) -> None:
        """--delta 0 is refused naming the flag."""
        self._one_line(
            _cli("calibrate", "--db", db[0], "--decision-type", "claims.payout", "--delta", "0"),
            "--delta: 0 is outside (0, 1)",
        )

    def test_file_not_in_export_format_names_line_and_field(self, tmp_path: Path) -> None:
        """A row without proposal_confidence: the file, line 2 and the field are named."""
        good = {
            "decision_type": "claims.payout",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "proposal_outcome": "approve",
            "proposal_confidence": 0.9,
            "model": "m",
            "model_version": "1",
            "final_outcome": "approve",
            "policy_name": "p",
            "policy_version": 1,
            "route": "auto",
            "label_source": "audit_sample",
            "pi": 0.2,
            "action": "APPROVE",
        }
        bad = {k: v for k, v in good.items() if k != "proposal_confidence"}
        f = tmp_path / "rows.jsonl"
        f.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        self._one_line(_cli("calibrate", "--file", str(f)), f"{f}:2: proposal_confidence: missing")

    def test_nan_confidence(self, tmp_path: Path) -> None:
        """A NaN confidence is refused with its line."""
        f = tmp_path / "nan.jsonl"
        f.write_text(
            '{"decision_type": "claims.payout", "created_at": "2026-01-01T00:00:00Z", '
            '"proposal_outcome": "approve", "proposal_confidence": NaN, "model": "m", "model_version": "1", '
            '"final_outcome": "approve", "policy_name": "p", "policy_version": 1, "route": "auto", '
            '"label_source": "review", "pi": 1.0}\n'
        )
        self._one_line(_cli("calibrate", "--file", str(f)), f"{f}:1: proposal_confidence: NaN")

    def test_no_labelled_rows_in_the_window(self, db: tuple[str, Path]) -> None:
        """A window before any decision has no labelled rows."""
        self._one_line(
            _cli(
                "calibrate",
                "--db",
                db[0],
                "--decision-type",
                "claims.payout",
                "--since",
                "2001-01-01",
                "--until",
                "2001-02-01",
            ),
            "no labelled rows",
        )

    def test_policy_for_another_decision_type(self, db: tuple[str, Path]) -> None:
        """Replay of a policy whose decision type has no stored decisions names both."""
        other = db[1] / "other.yaml"
        other.write_text(_moved(db[1], "0.80").read_text().replace("decision: claims.payout", "decision: loans.credit"))
        self._one_line(
            _cli("policy", "replay", str(other), "--since", "2000-01-01", "--until", "2100-01-01", "--db", db[0]),
            "decides loans.credit",
        )

    def test_replay_of_a_policy_that_does_not_lint(self, db: tuple[str, Path]) -> None:
        """A policy routing to an undeclared queue is refused before any decision is read."""
        broken = db[1] / "broken.yaml"
        broken.write_text(_moved(db[1], "0.80").read_text().replace("to: junior", "to: legal"))
        run = _cli("policy", "replay", str(broken), "--since", "2000-01-01", "--until", "2100-01-01", "--db", db[0])
        assert run.returncode == 1 and "legal" in run.stderr and "Traceback" not in run.stderr


def _workflow_replay_line() -> str:
    """The replay command line of the shipped policy workflow, exactly as it stands there."""
    import yaml

    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "policies.yml").read_text())
    steps = doc["jobs"]["policy"]["steps"]
    step = next(s for s in steps if "replay" in s.get("name", "").lower())
    return next(line.strip() for line in step["run"].splitlines() if "signoff policy replay" in line)


class TestReplaySample:
    """A replay sample exported from the database replays like the database, with no database."""

    def test_a_sample_replays_like_the_database(self, db: tuple[str, Path]) -> None:
        """Export, then replay --from: the same transitions, automation and error bound as replay --db."""
        sample = db[1] / "sample.jsonl"
        period = ("--since", "2000-01-01", "--until", "2100-01-01")
        run = _cli("export", "replay-sample", "--db", db[0], "--type", "claims.payout", *period, "--out", str(sample))
        assert run.returncode == 0, run.stderr
        moved = str(_moved(db[1], "0.80"))
        from_db = json.loads(_cli("policy", "replay", moved, *period, "--db", db[0], "--format", "json").stdout)
        run = _cli("policy", "replay", moved, "--from", str(sample), "--format", "json")
        assert run.returncode == 0, run.stderr
        from_file = json.loads(run.stdout)
        for key in ("decisions", "transitions", "automation_rate", "became_automatic", "new_auto_band", "load_per_day"):
            assert from_file[key] == from_db[key], key

    def test_the_workflow_command_runs_on_the_shipped_sample(self, tmp_path: Path) -> None:
        """The workflow's replay line, run as written, puts a Markdown impact table in the summary."""
        summary = tmp_path / "summary.md"
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "f": str(_moved(tmp_path, "0.80")),
            "sample": str(ROOT / "policies" / "samples" / "claims-triage.jsonl"),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        run = subprocess.run(["bash", "-c", _workflow_replay_line()], env=env, cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        text = summary.read_text()
        assert "| old route | new route | decisions |" in text and "junior" in text

    def test_a_malformed_line_is_named(self, tmp_path: Path) -> None:
        """A sample line with a confidence out of range: one line naming the file, line and field; exit 1."""
        lines = (ROOT / "policies" / "samples" / "claims-triage.jsonl").read_text().splitlines()[:4]
        row = json.loads(lines[2])
        row["proposal"]["confidence"] = 1.5
        lines[2] = json.dumps(row)
        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join(lines) + "\n")
        run = _cli("policy", "replay", str(_moved(tmp_path, "0.80")), "--from", str(bad))
        assert run.returncode == 1
        assert run.stderr.strip().count("\n") == 0 and f"{bad}:3: proposal.confidence" in run.stderr

    def test_a_file_that_is_not_a_sample(self, tmp_path: Path) -> None:
        """A feedback export (or any other JSONL) is refused on its first line."""
        other = tmp_path / "other.jsonl"
        other.write_text('{"decision_id": "d1"}\n')
        run = _cli("policy", "replay", str(_moved(tmp_path, "0.80")), "--from", str(other))
        assert run.returncode == 1 and f"{other}:1: format" in run.stderr

    def test_a_policy_for_another_type(self) -> None:
        """Replaying the moderation policy on the claims sample: one line, exit 1."""
        sample = str(ROOT / "policies" / "samples" / "claims-triage.jsonl")
        run = _cli("policy", "replay", str(ROOT / "policies" / "content-moderation.yaml"), "--from", sample)
        assert run.returncode == 1 and "holds claims.payout" in run.stderr and run.stderr.count("\n") == 1


class TestDriftInTheReport:
    """The compliance report's drift section, from the demo's day against the day before."""

    def test_json_and_html_carry_the_drift_section(self, db: tuple[str, Path]) -> None:
        """JSON: one monitor for claims.payout with its histogram; HTML: the section and its chart."""
        period = ("--from", "2000-01-01", "--to", "2100-01-01", "--no-verify", "--db", db[0])
        run = _cli("report", *period, "--format", "json")
        assert run.returncode == 0, run.stderr
        drift = {m["decision_type"]: m for m in json.loads(run.stdout)["drift"]}
        model = next(iter(drift["claims.payout"]["models"].values()))
        assert sum(model["confidence_histogram"]["current"]) == model["decisions"] >= CLAIMS
        assert abs(sum(model["route_share"].values()) - 1.0) < 1e-9
        html = _cli("report", *period).stdout
        assert "<h2>Drift against the period before</h2>" in html and '<svg class="drift"' in html
