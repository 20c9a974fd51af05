"""The report, the export and the trail on PostgreSQL: the same scripted day, the same figures."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from gateway.cli import main
from tests.conftest import NO_POSTGRES, POSTGRES_URL, ROOT
from tests.reports.conftest import AUDIT_RATE, START, Dataset, build_dataset

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES),
]

FROM, TO = "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"


@pytest.fixture(scope="module")
def pg_dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """The scripted day in a fresh PostgreSQL schema, dropped afterwards."""
    tmp = tmp_path_factory.mktemp("pg-reports")
    policy_dir = tmp / "policies"
    policy_dir.mkdir()
    body = (ROOT / "policies" / "claims-triage.yaml").read_text(encoding="utf-8")
    (policy_dir / "claims-triage.yaml").write_text(
        body.replace("audit_auto_rate: 0.02", f"audit_auto_rate: {AUDIT_RATE}")
    )
    shutil.copytree(ROOT / "policies" / "schema", policy_dir / "schema")
    schema = f"signoff_reports_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    data = build_dataset(url.render_as_string(hide_password=False), policy_dir)
    try:
        yield data
    finally:
        data.engine.dispose()  # type: ignore[attr-defined]
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class TestOnPostgres:
    """Figures computed by PostgreSQL's own arithmetic match the SQLite ones."""

    def test_report_figures(self, pg_dataset: Dataset, tmp_path: Path) -> None:
        """Volumes, override rate, percentiles, audit results and chain as on SQLite."""
        out = tmp_path / "r.json"
        assert (
            main(
                ["report", "--from", FROM, "--to", TO, "--format", "json", "--db", pg_dataset.db_url, "--out", str(out)]
            )
            == 0
        )
        r = json.loads(out.read_text())
        assert (r["volumes"]["total"], r["volumes"]["automation_rate"]) == (20, 0.5)
        assert r["sign_offs"]["overall"]["override_rate"] == pytest.approx(2 / 9)
        assert (r["time_to_decision"]["overall"]["p50"], r["time_to_decision"]["overall"]["max"]) == (305.0, 420.0)
        assert (r["audit_samples"]["reviewed"], r["audit_samples"]["corrected"]) == (3, 1)
        assert r["chain"]["ok"] is True

    def test_export_rows(self, pg_dataset: Dataset, tmp_path: Path) -> None:
        """Twelve labelled rows, three of them audit samples weighing 2."""
        out = tmp_path / "f.jsonl"
        assert (
            main(["export", "feedback", "--since", FROM, "--until", TO, "--db", pg_dataset.db_url, "--out", str(out)])
            == 0
        )
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(rows) == 12 and sorted(r["weight"] for r in rows)[-3:] == [2.0, 2.0, 2.0]

    def test_explain(self, pg_dataset: Dataset, capsys: pytest.CaptureFixture[str]) -> None:
        """The trail of a held decision verifies on PostgreSQL too."""
        assert main(["audit", "explain", "junior-3", "--db", pg_dataset.db_url, "--json"]) == 0
        t = json.loads(capsys.readouterr().out)
        assert t["reviews"][0]["action"] == "OVERRIDE" and t["chain"]["verified"] is True

    def test_empty_period_before_data(self, pg_dataset: Dataset) -> None:
        """A period before any decision is all zeros."""
        from gateway.reports import build_report

        r = build_report(pg_dataset.engine, START - timedelta(days=9), START - timedelta(days=8), verify=False)  # type: ignore[arg-type]
        assert r["volumes"]["total"] == 0
