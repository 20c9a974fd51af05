"""``signoff export feedback``: one labelled row per human-reviewed or audited decision, with weights.

From the scripted day: 9 held decisions signed off (pi = 1) and 3 audit samples reviewed
(pi = 0.5, the test policy's audit rate), one of them corrected to ``deny``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from tests.reports.conftest import Dataset

SINCE, UNTIL = "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"


def _jsonl(dataset: Dataset, tmp_path: Path) -> list[dict]:
    out = tmp_path / "feedback.jsonl"
    assert (
        main(["export", "feedback", "--since", SINCE, "--until", UNTIL, "--db", dataset.db_url, "--out", str(out)]) == 0
    )
    return [json.loads(line) for line in out.read_text().splitlines()]


class TestFeedbackRows:
    """Which decisions become rows, and what each row says."""

    def test_one_row_per_labelled_decision(self, dataset: Dataset, tmp_path: Path) -> None:
        """Nine reviews and three audited samples; pending reviews and unaudited samples are no labels."""
        rows = _jsonl(dataset, tmp_path)
        assert [r["label_source"] for r in rows].count("review") == 9
        assert [r["label_source"] for r in rows].count("audit_sample") == 3
        ids = {r["decision_id"] for r in rows}
        assert "junior-5" not in ids and dataset.ids["sampled"][3] not in ids and "early-1" not in ids

    def test_review_rows_have_pi_one(self, dataset: Dataset, tmp_path: Path) -> None:
        """Every held decision is reviewed: inclusion probability 1, weight 1, tier the queue."""
        rows = {r["decision_id"]: r for r in _jsonl(dataset, tmp_path)}
        edit = rows["junior-2"]
        assert (edit["pi"], edit["weight"], edit["reviewer_tier"], edit["route"]) == (1.0, 1.0, "junior", "junior")
        assert (edit["action"], edit["final_outcome"], edit["proposal_outcome"], edit["was_override"]) == (
            "EDIT",
            "partial",
            "approve",
            True,
        )

    def test_audit_rows_weighted_by_sampling_probability(self, dataset: Dataset, tmp_path: Path) -> None:
        """An audit sample drawn at rate 0.5 weighs 2; its label is the correction or the confirmed outcome."""
        rows = {r["decision_id"]: r for r in _jsonl(dataset, tmp_path)}
        corrected, confirmed = rows[dataset.ids["sampled"][0]], rows[dataset.ids["sampled"][1]]
        assert (corrected["pi"], corrected["weight"], corrected["reviewer_tier"]) == (0.5, 2.0, "audit")
        assert (corrected["final_outcome"], corrected["action"], corrected["was_override"]) == (
            "deny",
            "OVERRIDE",
            True,
        )
        assert (confirmed["final_outcome"], confirmed["action"], confirmed["was_override"]) == (
            "approve",
            "APPROVE",
            False,
        )

    def test_row_carries_features_proposal_model_and_policy(self, dataset: Dataset, tmp_path: Path) -> None:
        """Input features, scores, model and version, policy name and version are all in the row."""
        r = next(r for r in _jsonl(dataset, tmp_path) if r["decision_id"] == "senior-2")
        assert r["input"] == {"amount": 60000.0, "claim_type": "auto"} and r["proposal_scores"] == {"approve": 0.95}
        assert (r["model"], r["model_version"], r["policy_name"], r["policy_version"]) == (
            "claims-gbm",
            "2026.03",
            "claims-triage",
            2,
        )

    def test_weights_recover_the_population_count(self, dataset: Dataset, tmp_path: Path) -> None:
        """Horvitz-Thompson: each of the three audited rows stands for 1/pi = 2 automatic decisions."""
        rows = _jsonl(dataset, tmp_path)
        assert sum(r["weight"] for r in rows if r["label_source"] == "audit_sample") == 6.0


class TestFeedbackParquet:
    """Parquet through the optional pyarrow extra."""

    def test_parquet_round_trip(self, dataset: Dataset, tmp_path: Path) -> None:
        """The Parquet file holds the same rows, with input features flattened into columns."""
        pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow not installed: pip install 'signoff[parquet]'")
        out = tmp_path / "feedback.parquet"
        assert (
            main(
                [
                    "export",
                    "feedback",
                    "--since",
                    SINCE,
                    "--until",
                    UNTIL,
                    "--format",
                    "parquet",
                    "--db",
                    dataset.db_url,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        table = pq.read_table(out).to_pylist()
        assert len(table) == 12 and {"input.amount", "score.approve", "weight", "pi", "label_source"} <= set(table[0])
        assert sorted(r["weight"] for r in table)[-3:] == [2.0, 2.0, 2.0]

    def test_without_pyarrow_says_how_to_install(
        self, dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No pyarrow: one line naming the extra, exit 2."""
        monkeypatch.setitem(sys.modules, "pyarrow", None)
        rc = main(
            [
                "export",
                "feedback",
                "--since",
                SINCE,
                "--until",
                UNTIL,
                "--format",
                "parquet",
                "--db",
                dataset.db_url,
                "--out",
                str(tmp_path / "x.parquet"),
            ]
        )
        assert rc == 2 and "pip install 'signoff[parquet]'" in capsys.readouterr().err


class TestFeedbackBadInput:
    """Bad flags are one line and exit 2."""

    @pytest.mark.parametrize(
        "argv, needle",
        [
            (["--since", "2026-13-01", "--until", UNTIL], "not an ISO-8601"),
            (["--since", UNTIL, "--until", SINCE], "is not before"),
            (["--since", SINCE, "--until", UNTIL, "--format", "csv"], "not one of jsonl, parquet"),
        ],
    )
    def test_usage_errors(
        self, argv: list[str], needle: str, dataset: Dataset, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A malformed time, a reversed window or an unknown format is refused."""
        rc = main(["export", "feedback", *argv, "--db", dataset.db_url])
        err = capsys.readouterr().err
        assert rc == 2 and needle in err and err.count("\n") == 1
