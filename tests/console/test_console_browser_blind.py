"""A blind-first task in a real browser (Debian's Chromium): the proposal is in neither the DOM nor
the page source before the initial outcome, and is shown after it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.console.browser import sign_in
from tests.console.conftest import CHROMIUM
from tests.console.helpers import held
from tests.gateway.backends import edit_claims_policy

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: apt-get install -y chromium"),
]


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    """The shipped policies with every junior task reviewed blind-first."""
    return edit_claims_policy(policy_dir, junior="    blind_rate: 1.0\n")


def test_the_proposal_is_absent_until_the_initial_outcome(page, console_url: str, grpc_client) -> None:  # type: ignore[no-untyped-def]
    """Claim by key; neither the DOM nor the source holds the proposal; record an outcome; it appears."""
    held(grpc_client, explanation="the model's secret reasoning")
    sign_in(page, console_url, "alice")
    page.goto(f"{console_url}/queues/junior")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/tasks/"))
    source = page.content()
    for leak in ("secret reasoning", 'id="proposal"', "review_band", "claims-gbm"):
        assert leak not in source
    assert page.locator("#proposal").count() == 0
    page.select_option("#initial_outcome", "deny")
    page.click("#initial-form button[type=submit]")
    page.wait_for_selector("#proposal")
    assert "secret reasoning" in page.locator("#proposal").inner_text()
    assert "deny" in page.locator("#initial").inner_text()
