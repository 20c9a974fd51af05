"""Browser helpers for the console tests: sign in, run axe-core, keep a screenshot that is not blank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import TOKENS
from tests.reports.png import read_png

#: axe-core impacts that fail a page.
BLOCKING = ("serious", "critical")


def sign_in(page: Any, base: str, who: str) -> None:
    """Sign in through the form, by keyboard."""
    page.goto(f"{base}/signin")
    page.fill("#token", TOKENS[who])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def axe_violations(page: Any) -> list[tuple[str, str, int]]:
    """(rule, impact, nodes) of every serious or critical axe-core violation on the page.

    axe is loaded from the console's own vendored copy, so the page's CSP allows it.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/static/vendor/axe.min.js")
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => [v.id, v.impact, v.nodes.length, v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')])"
    )
    return [(v[0], v[1], v[2], v[3]) for v in found if v[1] in BLOCKING]


def screenshot(page: Any, directory: Path, name: str) -> Path:
    """Save a full-page screenshot and check it is not blank (many colours, not one)."""
    path = directory / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width, height, rows = read_png(path)
    colours = {row[i : i + 3] for row in rows[:: max(1, height // 60)] for i in range(0, len(row), 3 * 7)}
    assert width > 300 and height > 200 and len(colours) > 8, f"{name}: the page looks blank"
    return path


def no_horizontal_scroll(page: Any) -> bool:
    """True when the page fits the viewport's width (readable without sideways scrolling)."""
    return bool(page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"))
