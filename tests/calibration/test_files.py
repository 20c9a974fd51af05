"""Feedback exports read back: JSONL and Parquet written by the export's own writer give the same columns."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gateway.errors import InvalidRequest
from gateway.reports.export import write_parquet
from gateway.reports.labelled import read_file


def _rows(n: int = 60) -> list[dict[str, Any]]:
    """Feedback rows in the export's format (every field of FIELDS)."""
    out = []
    for i in range(n):
        auto = i % 3 == 0
        wrong = i % 7 == 0
        pi = 0.25 if auto else 1.0
        out.append(
            {
                "decision_id": f"d{i}",
                "decision_type": "claims.payout",
                "created_at": f"2026-01-01T00:{i:02d}:00.000000Z",
                "input": {"amount": 10.0 * i},
                "proposal_outcome": "approve",
                "proposal_confidence": 0.5 + i / 200,
                "proposal_scores": {"approve": 0.5},
                "model": "m",
                "model_version": "1",
                "final_outcome": "deny" if wrong else "approve",
                "action": "OVERRIDE" if wrong else "APPROVE",
                "was_override": wrong,
                "reviewer_tier": "audit" if auto else "junior",
                "policy_name": "claims-triage",
                "policy_version": 1,
                "route": "auto" if auto else "junior",
                "label_source": "audit_sample" if auto else "review",
                "pi": pi,
                "weight": 1 / pi,
            }
        )
    return out


class TestReadFile:
    """The two file formats of `signoff export feedback`."""

    def test_jsonl_and_parquet_agree(self, tmp_path: Path) -> None:
        """The same rows as JSONL and as Parquet give identical confidence, error and pi columns."""
        rows = _rows()
        jl = tmp_path / "f.jsonl"
        jl.write_text("".join(json.dumps(r) + "\n" for r in rows))
        pq = tmp_path / "f.parquet"
        write_parquet(rows, str(pq))
        a, b = read_file(jl, None, None, None), read_file(pq, None, None, None)
        assert np.array_equal(a.conf, b.conf) and np.array_equal(a.err, b.err) and np.array_equal(a.pi, b.pi)
        assert a.models() == b.models() == ["m@1"] and int(a.err.sum()) == sum(r["was_override"] for r in rows)

    def test_parquet_nan_confidence_names_the_row(self, tmp_path: Path) -> None:
        """A NaN confidence in row 5 of a Parquet file is refused naming row and field."""
        rows = _rows()
        rows[4]["proposal_confidence"] = math.nan
        pq = tmp_path / "nan.parquet"
        write_parquet(rows, str(pq))
        with pytest.raises(InvalidRequest, match="row 5: proposal_confidence"):
            read_file(pq, None, None, None)

    def test_not_json_names_the_line(self, tmp_path: Path) -> None:
        """A line that is not JSON is refused with its number."""
        f = tmp_path / "bad.jsonl"
        f.write_text(json.dumps(_rows(1)[0]) + "\n{not json\n")
        with pytest.raises(InvalidRequest, match=r"bad.jsonl:2: not JSON"):
            read_file(f, None, None, None)
