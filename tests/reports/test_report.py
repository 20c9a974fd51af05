"""``signoff report`` figures against the scripted day of ``conftest.build_dataset``.

The day (period 2026-03-02T09:00Z, one day): 20 claims in the period and one an hour before.
10 automatic (4 drawn for audit: 3 audited, 1 corrected), 6 junior (5 signed off by alice:
3 APPROVE, 1 EDIT, 1 OVERRIDE; one pending), 4 senior (bob: 1 REJECT, 1 OVERRIDE, 2 APPROVE).
Times to decision, seconds: junior 69, 128, 187, 246, 305; senior 333, 362, 391, 420.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.reports import build_report, percentile, report_rows
from gateway.reports.report import band_of
from tests.reports.conftest import START, Dataset

FROM, TO = "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"


def _report_json(dataset: Dataset, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "r.json"
    rc = main(
        ["report", "--from", FROM, "--to", TO, "--format", "json", "--db", dataset.db_url, "--out", str(out), *extra]
    )
    assert rc == 0
    return json.loads(out.read_text())


class TestReportFigures:
    """The JSON report's figures are exactly those of the scripted day."""

    def test_volumes_and_automation_rate(self, dataset: Dataset, tmp_path: Path) -> None:
        """Twenty decisions in the period, half automatic; the one before it is left out."""
        r = _report_json(dataset, tmp_path)
        v = r["volumes"]
        assert (v["total"], v["automatic"], v["held"], v["automation_rate"]) == (20, 10, 10, 0.5)
        assert [(x["route"], x["count"], x["share"]) for x in v["by_route"]] == [
            ("auto", 10, 0.5),
            ("junior", 6, 0.3),
            ("senior", 4, 0.2),
        ]

    def test_review_rate_by_queue(self, dataset: Dataset, tmp_path: Path) -> None:
        """Each queue's share of all decisions, and how many were signed off or still wait."""
        q = {x["queue"]: x for x in _report_json(dataset, tmp_path)["review_by_queue"]}
        assert (
            q["junior"]["held"],
            q["junior"]["review_rate"],
            q["junior"]["human_decided"],
            q["junior"]["pending"],
        ) == (6, 0.3, 5, 1)
        assert (q["senior"]["held"], q["senior"]["review_rate"], q["senior"]["human_decided"]) == (4, 0.2, 4)

    def test_sign_off_rates_overall_and_by_queue(self, dataset: Dataset, tmp_path: Path) -> None:
        """Nine sign-offs: 5 approved, 1 edited, 2 overridden, 1 rejected; per queue as scripted."""
        so = _report_json(dataset, tmp_path)["sign_offs"]
        o = so["overall"]
        assert (o["reviewed"], o["approved"], o["edited"], o["overridden"], o["rejected"]) == (9, 5, 1, 2, 1)
        assert o["override_rate"] == pytest.approx(2 / 9)
        by_queue = {x["queue"]: (x["override_rate"], x["edit_rate"], x["reject_rate"]) for x in so["by_queue"]}
        assert by_queue == {"junior": (0.2, 0.2, 0.0), "senior": (0.25, 0.0, 0.25)}

    def test_sign_offs_by_rule_reviewer_version_and_band(self, dataset: Dataset, tmp_path: Path) -> None:
        """The same sign-offs grouped by rule, reviewer, policy version and confidence band."""
        so = _report_json(dataset, tmp_path)["sign_offs"]
        assert {x["rule"]: x["reviewed"] for x in so["by_rule"]} == {
            "high_value": 2,
            "low_confidence": 2,
            "review_band": 5,
        }
        assert {x["reviewer"]: x["overridden"] for x in so["by_reviewer"]} == {"alice": 1, "bob": 1}
        assert [(x["policy_name"], x["policy_version"], x["reviewed"]) for x in so["by_policy_version"]] == [
            ("claims-triage", 2, 9)
        ]
        assert [(x["band"], x["reviewed"]) for x in so["by_confidence_band"]] == [
            ("[0.50,0.70)", 2),
            ("[0.70,0.80)", 1),
            ("[0.80,0.90)", 4),
            ("(0.92,1.00]", 2),
        ]

    def test_time_to_decision_percentiles(self, dataset: Dataset, tmp_path: Path) -> None:
        """p50/p90/p99 interpolate linearly over the nine scripted times, overall and per queue."""
        ttd = _report_json(dataset, tmp_path)["time_to_decision"]
        assert (ttd["overall"]["count"], ttd["overall"]["p50"], ttd["overall"]["max"]) == (9, 305.0, 420.0)
        junior = next(x for x in ttd["by_queue"] if x["queue"] == "junior")
        assert (junior["p50"], junior["p90"], junior["p99"]) == pytest.approx((187.0, 281.4, 302.64))
        assert {h["bucket"]: h["count"] for h in ttd["histogram"]}["1-5 min"] == 4

    def test_significant_decisions_human_review_share(self, dataset: Dataset, tmp_path: Path) -> None:
        """Every claim is significant: 10 held plus 4 sampled of 20 had a human review planned, 12 done."""
        s = _report_json(dataset, tmp_path)["significant"]
        assert (s["total"], s["held_for_review"], s["audit_sampled"], s["share_with_human_review"]) == (20, 10, 4, 0.7)
        assert (s["human_review_completed"], s["share_human_review_completed"]) == (12, 0.6)

    def test_audit_sample_results(self, dataset: Dataset, tmp_path: Path) -> None:
        """Four sampled, three reviewed, one corrected."""
        a = _report_json(dataset, tmp_path)["audit_samples"]
        assert (a["sampled"], a["reviewed"], a["awaiting_review"], a["corrected"]) == (4, 3, 1, 1)
        assert a["correction_rate"] == pytest.approx(1 / 3)

    def test_policy_versions_with_digest_and_load_time(self, dataset: Dataset, tmp_path: Path) -> None:
        """The version that decided the period is listed with its digest and policy_loaded time."""
        [p] = _report_json(dataset, tmp_path)["policies"]
        stored = dataset.decisions["junior-0"]
        assert (p["name"], p["version"], p["digest"]) == ("claims-triage", 2, stored.policy_digest)
        assert p["policy_loaded_events"] == ["2026-03-02T08:00:00.000000Z"] and p["decisions_in_period"] == 20

    def test_chain_verified_with_head_hash(self, dataset: Dataset, tmp_path: Path) -> None:
        """The report walks the whole chain and names its head."""
        c = _report_json(dataset, tmp_path)["chain"]
        assert c["verified"] and c["ok"] and c["head_seq"] == c["count"] and len(c["head_hash"]) == 64

    def test_no_verify_says_so(self, dataset: Dataset, tmp_path: Path) -> None:
        """--no-verify skips the walk, still names the head, and says it was not verified."""
        c = _report_json(dataset, tmp_path, "--no-verify")["chain"]
        assert (c["verified"], c["ok"], c["note"]) == (False, None, "not verified (--no-verify)")
        assert len(c["head_hash"]) == 64

    def test_empty_period(self, dataset: Dataset) -> None:
        """A period with no decisions reports zeros and no rates, without failing."""
        r = build_report(dataset.engine, START + timedelta(days=5), START + timedelta(days=6), verify=False)  # type: ignore[arg-type]
        assert (r["volumes"]["total"], r["volumes"]["automation_rate"], r["time_to_decision"]["overall"]["p50"]) == (
            0,
            None,
            None,
        )


class TestReportCsv:
    """The CSV is the long format ``section,key,metric,value`` with the same figures."""

    def test_csv_matches_json(self, dataset: Dataset, tmp_path: Path) -> None:
        """Selected cells of the CSV equal the scripted figures."""
        out = tmp_path / "r.csv"
        assert (
            main(["report", "--from", FROM, "--to", TO, "--format", "csv", "--db", dataset.db_url, "--out", str(out)])
            == 0
        )
        rows = list(csv.reader(io.StringIO(out.read_text())))
        assert rows[0] == ["section", "key", "metric", "value"]
        cells = {(s, k, m): v for s, k, m, v in rows[1:]}
        assert cells[("volumes", "", "automation_rate")] == "0.5"
        assert cells[("sign_offs.by_queue", "queue=junior", "override_rate")] == "0.2"
        assert cells[("volumes.by_route", "decision_type=claims.payout;route=senior", "count")] == "4"
        assert cells[("audit_samples", "", "corrected")] == "1"
        assert cells[("time_to_decision.overall", "", "p50")] == "305.0"

    def test_every_row_has_four_cells(self, dataset: Dataset) -> None:
        """No nested value leaks into a cell: each row is section, key, metric, scalar."""
        r = build_report(dataset.engine, START, START + timedelta(days=1), verify=False)  # type: ignore[arg-type]
        rows = list(report_rows(r))
        assert rows and all(len(x) == 4 and not isinstance(x[3], dict | list) for x in rows)


class TestReportBadInput:
    """Bad flags get one line on stderr and exit 2; a missing database exits 1."""

    @pytest.mark.parametrize(
        "argv, needle",
        [
            (["--from", "yesterday", "--to", TO], "not an ISO-8601"),
            (["--from", TO, "--to", FROM], "is not before"),
            (["--from", FROM, "--to", TO, "--format", "pdf"], "not one of html, json, csv"),
        ],
    )
    def test_usage_errors_exit_2(
        self, argv: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A malformed time, a reversed period or an unknown format is refused in one line."""
        rc = main(["report", *argv, "--db", f"sqlite:///{tmp_path / 'x.db'}"])
        err = capsys.readouterr().err
        assert rc == 2 and needle in err and err.count("\n") == 1

    def test_missing_database_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A SQLite path that does not exist is an error, not a new empty database."""
        rc = main(["report", "--from", FROM, "--to", TO, "--db", f"sqlite:///{tmp_path / 'none.db'}"])
        assert rc == 1 and "no such file" in capsys.readouterr().err
        assert not (tmp_path / "none.db").exists()

    def test_unreachable_postgres(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A database that does not answer is one line naming it, password hidden."""
        rc = main(["report", "--from", FROM, "--to", TO, "--db", "postgresql+psycopg://u:secret@127.0.0.1:1/x"])
        err = capsys.readouterr().err
        assert rc == 1 and "unavailable" in err and "secret" not in err and err.count("\n") == 1


class TestHelpers:
    """The pure pieces the report is built from."""

    def test_percentile_interpolates(self) -> None:
        """Linear interpolation between the closest ranks, like percentile_cont."""
        assert (percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([], 50), percentile([7.0], 99)) == (2.5, None, 7.0)

    def test_band_edges(self) -> None:
        """0.92 is in the review band's top bin; just above it is the automatic band."""
        assert [band_of(c) for c in (0.0, 0.5, 0.69, 0.92, 0.9201, 1.0)] == [
            "[0.00,0.50)",
            "[0.50,0.70)",
            "[0.50,0.70)",
            "[0.90,0.92]",
            "(0.92,1.00]",
            "(0.92,1.00]",
        ]
