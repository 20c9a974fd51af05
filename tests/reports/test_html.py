"""The HTML report: one self-contained file that renders in a real headless Chromium."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from gateway.cli import main
from tests.reports.conftest import Dataset
from tests.reports.png import read_png

CHROMIUM = Path("/usr/bin/chromium")
FROM, TO = "2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z"


def _html(dataset: Dataset, tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    assert (
        main(["report", "--from", FROM, "--to", TO, "--format", "html", "--db", dataset.db_url, "--out", str(out)]) == 0
    )
    return out


class TestHtmlContent:
    """The file states what it covers and depends on nothing outside itself."""

    def test_header_states_period_generation_and_chain(self, dataset: Dataset, tmp_path: Path) -> None:
        """Period, generation time and chain status are in the header."""
        page = _html(dataset, tmp_path).read_text()
        header = page[page.index("<header>") : page.index("</header>")]
        assert "2026-03-02T09:00:00.000000Z" in header and "Generated" in header and "chain verified" in header

    def test_self_contained(self, dataset: Dataset, tmp_path: Path) -> None:
        """No script, no external stylesheet, image or font: nothing to fetch."""
        page = _html(dataset, tmp_path).read_text()
        assert "<script" not in page and "<link" not in page and "<img" not in page
        assert (
            not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
            and "@import" not in page
            and "url(" not in page
        )

    def test_has_inline_svg_charts(self, dataset: Dataset, tmp_path: Path) -> None:
        """Route split, review rate, override rates, the time distribution and reviewer approval are SVG charts
        (besides the reliability and drift diagrams, one per model version)."""
        page = _html(dataset, tmp_path).read_text()
        per_model = page.count('<svg class="reliability"') + page.count('<svg class="drift"')
        assert page.count("<svg") - per_model == 6 and "Reviewer engagement" in page
        for caption in (
            "Route split",
            "Override rate by queue",
            "Override rate by confidence band",
            "Distribution of time to decision",
        ):
            assert caption in page

    def test_has_a_reliability_diagram_per_model_version(self, dataset: Dataset, tmp_path: Path) -> None:
        """The calibration section draws one reliability diagram per decision type and model version."""
        page = _html(dataset, tmp_path).read_text()
        assert "Calibration of model confidence" in page
        assert page.count('<svg class="reliability"') >= 1 and "ECE " in page and "Brier " in page


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: apt-get install -y chromium")
class TestHtmlScreenshot:
    """Headless Chromium renders the report into a page that is visibly not blank."""

    def test_screenshot_is_not_blank(self, dataset: Dataset, tmp_path: Path) -> None:
        """The PNG has many colours and a real share of non-white pixels."""
        page = _html(dataset, tmp_path)
        png = tmp_path / "shot.png"
        subprocess.run(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path / 'profile'}",
                f"--screenshot={png}",
                "--window-size=1200,1600",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        width, height, rows = read_png(png)
        pixels = [row[i : i + 3] for row in rows[::4] for i in range(0, len(row), 12)]
        colours = set(pixels)
        inked = sum(1 for p in pixels if p != b"\xff\xff\xff") / len(pixels)
        assert (width, height) == (1200, 1600)
        assert len(colours) > 20 and inked > 0.05
