"""axe-core (vendored from npm) finds no serious or critical violation on any console page, at
1280 and at 390 pixels wide; each page fits the width and its screenshot is not blank."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import axe_violations, no_horizontal_scroll, screenshot, sign_in
from tests.console.conftest import CHROMIUM
from tests.console.helpers import held

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: apt-get install -y chromium"),
]

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


def _pages(page: Any, base: str, grpc_client: Any) -> list[tuple[str, str]]:
    """Sign in as bob (senior adjuster) or carol (auditor) and list (name, url) of every page."""
    d = held(grpc_client, subject="cust-axe")
    sign_in(page, base, "alice")
    page.goto(f"{base}/queues/junior")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/tasks/"))
    return [
        ("home", f"{base}/"),
        ("queue", f"{base}/queues/junior"),
        ("case", page.url),
        ("not-found", f"{base}/tasks/00000000-0000-4000-8000-000000000000"),
        ("policies", f"{base}/policies"),
        ("policy-text", f"{base}/policies/claims-triage/1"),
        ("policy-diff", f"{base}/policies/claims-triage/diff?a=1&b=1"),
        ("!carol", ""),
        ("search", f"{base}/audit/decisions?subject=cust-axe&search=1"),
        ("trail", f"{base}/audit/decisions/{d.decision_id}"),
        ("report", f"{base}/audit/report"),
        ("reviewers", f"{base}/audit/reviewers"),
    ]


class TestAccessibility:
    """Every page, at both widths."""

    @pytest.mark.parametrize("width", sorted(WIDTHS))
    def test_no_serious_violation_and_readable(  # type: ignore[no-untyped-def]
        self, width: str, page, console_url: str, grpc_client, artefacts: Path
    ) -> None:
        """axe-core reports nothing serious or critical; nothing scrolls sideways; screenshots not blank."""
        page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
        page.goto(f"{console_url}/signin")
        problems: dict[str, Any] = {}
        for name, url in [("signin", f"{console_url}/signin"), *_pages(page, console_url, grpc_client)]:
            if name.startswith("!"):
                page.context.clear_cookies()
                sign_in(page, console_url, name[1:])
                continue
            page.goto(url)
            found = axe_violations(page)
            if found:
                problems[name] = found
            if not no_horizontal_scroll(page):
                problems[f"{name} (width)"] = "scrolls sideways"
            screenshot(page, artefacts, f"{name}-{width}")
        assert problems == {}
