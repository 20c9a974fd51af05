"""The console in a real browser: Debian's Chromium driven by pytest-playwright."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.console.browser import screenshot, sign_in
from tests.console.conftest import CHROMIUM
from tests.console.helpers import held

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent: apt-get install -y chromium"),
]


def _watch(grpc_client: Any, decision_id: str, seen: list[Any]) -> threading.Thread:
    def run() -> None:
        stream = grpc_client.decisions.WatchDecision(
            decision_pb2.WatchDecisionRequest(decision_id=decision_id), metadata=auth("caller"), timeout=60
        )
        for update in stream:
            seen.append(update.decision)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


class TestSignInInTheBrowser:
    """The sign-in page."""

    def test_a_wrong_token_shows_a_message_then_a_right_one_signs_in(self, page, console_url: str) -> None:  # type: ignore[no-untyped-def]
        """The page says the token is unknown; the right token lands on the start page."""
        page.goto(f"{console_url}/signin")
        page.fill("#token", "wrong")
        page.keyboard.press("Enter")
        assert page.locator("[role=alert]").inner_text() == "That token is not known to this gateway."
        sign_in(page, console_url, "alice")
        assert page.locator("h1").inner_text() == "Hello, alice"

    def test_an_expired_session_returns_to_sign_in_with_the_reason(self, page, console_url: str, clock) -> None:  # type: ignore[no-untyped-def]
        """After the idle limit a click lands on the sign-in page, which says why."""
        sign_in(page, console_url, "alice")
        clock.advance(15 * 60 + 1)
        page.click("text=junior queue")
        page.wait_for_url(re.compile(r"/signin\?expired=1$"))
        assert "without activity" in page.locator("[role=alert]").inner_text()

    def test_a_caller_token_cannot_open_the_reviewer_pages(self, page, console_url: str) -> None:  # type: ignore[no-untyped-def]
        """claims-service signs in, has no queue links, and a queue URL is a 403 page."""
        sign_in(page, console_url, "caller")
        assert page.locator("nav a[href^='/queues/']").count() == 0
        response = page.goto(f"{console_url}/queues/junior")
        assert response.status == 403
        assert "may not review from queue 'junior'" in page.locator("[role=alert]").inner_text()


class TestReviewByKeyboard:
    """Claim, read and override without touching the mouse."""

    def test_claim_by_key_and_override_with_a_reason_reaches_the_watching_caller(  # type: ignore[no-untyped-def]
        self, page, console_url: str, grpc_client, artefacts: Path
    ) -> None:
        """n claims, o picks override, Ctrl+Enter submits; WatchDecision ends on the human outcome."""
        d = held(grpc_client)
        seen: list[Any] = []
        watcher = _watch(grpc_client, d.decision_id, seen)
        sign_in(page, console_url, "alice")
        page.goto(f"{console_url}/queues/junior")
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r"/tasks/"))
        page.keyboard.press("?")
        assert page.locator("#keys").is_visible()
        page.keyboard.press("Escape")
        screenshot(page, artefacts, "case-1280")
        page.keyboard.press("o")
        assert page.locator("input[value=override]").is_checked()
        page.select_option("#outcome", "partial")  # focus is on the outcome list; choose by keyboard
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.type("windscreen only; glass cover applies")
        page.wait_for_timeout(1100)  # let the active-time counter tick once (not asserted on time)
        page.keyboard.press("Control+Enter")
        page.wait_for_url(re.compile(r"/queues/junior\?done="))
        assert "Signed off: override" in page.locator("[role=status]").first.inner_text()
        watcher.join(timeout=30)
        assert seen[-1].status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED
        assert seen[-1].final_outcome == "partial" and seen[-1].reviewer == "alice"

    def test_a_form_without_its_csrf_token_is_refused(self, page, console_url: str, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """Removing the hidden token before submitting gets the refusal page; the task stays claimed."""
        held(grpc_client)
        sign_in(page, console_url, "alice")
        page.goto(f"{console_url}/queues/junior")
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r"/tasks/"))
        task_url = page.url
        page.evaluate("() => document.querySelector('#signoff input[name=csrf]').remove()")
        page.keyboard.press("a")
        page.keyboard.press("Control+Enter")
        page.wait_for_load_state()
        assert "csrf:" in page.locator("[role=alert]").inner_text()
        page.goto(task_url)
        assert page.locator("#signoff").count() == 1  # still the holder's open case


class TestAuditorInTheBrowser:
    """Search, then the trail."""

    def test_an_auditor_finds_the_decision_and_opens_its_trail(self, page, console_url: str, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """Filter by subject (htmx swaps the results), follow the link, see the chain verified."""
        d = held(grpc_client, subject="cust-browser")
        held(grpc_client, subject="cust-noise")
        sign_in(page, console_url, "carol")
        page.goto(f"{console_url}/audit/decisions")
        page.fill("#f-subject", "cust-browser")
        page.keyboard.press("Enter")
        link = page.locator(f"a[href='/audit/decisions/{d.decision_id}']")
        link.wait_for()
        assert page.locator("#results").inner_text().count("cust-") == 1
        link.click()
        page.wait_for_url(re.compile(d.decision_id))
        assert page.locator("#chain").inner_text().startswith("Chain verified")


class TestEscapingInTheBrowser:
    """Hostile strings render as text: no element is made and no script runs."""

    def test_hostile_input_makes_no_element_and_runs_nothing(self, page, console_url: str, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The case view shows the strings literally; no img, no extra script, no dialog."""
        script, attr = "<script>alert('x')</script>", '"><img src=x onerror=alert(1)>'
        held(grpc_client, subject=attr, explanation=script, note=attr)
        dialogs: list[str] = []
        page.on("dialog", lambda dlg: (dialogs.append(dlg.message), dlg.dismiss()))
        sign_in(page, console_url, "alice")
        page.goto(f"{console_url}/queues/junior")
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r"/tasks/"))
        text = page.locator("main").inner_text()
        assert script in text and attr in text
        assert page.locator("main img").count() == 0 and page.locator("main script").count() == 0
        assert dialogs == []


class TestActiveTime:
    """The case page counts active time: visible and not idle."""

    def test_time_counts_while_active_and_stops_when_hidden_or_idle(  # type: ignore[no-untyped-def]
        self, page, console_url: str, console_app, grpc_client
    ) -> None:
        """The counter grows while the reviewer acts, and stands still in a hidden tab or past the idle cut-off."""
        import dataclasses

        console = console_app.console.console
        console.config = dataclasses.replace(console.config, idle_cutoff_seconds=2)
        held(grpc_client)
        sign_in(page, console_url, "alice")
        page.goto(f"{console_url}/queues/junior")
        page.keyboard.press("n")
        page.wait_for_url(re.compile(r"/tasks/"))
        value = lambda: int(page.locator("#active_ms").input_value() or 0)
        for _ in range(3):
            page.mouse.move(10, 10)
            page.wait_for_timeout(600)
            page.mouse.move(20, 20)
        active = value()
        assert active > 0
        page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
                                 document.dispatchEvent(new Event('visibilitychange')); }""")
        page.wait_for_timeout(1500)
        hidden = value()
        assert hidden - active < 1000  # at most the tick in flight, never the hidden 1.5 s
        page.evaluate(
            "() => { delete document.visibilityState; document.dispatchEvent(new Event('visibilitychange')); }"
        )
        page.wait_for_timeout(3500)  # no input: past the 2 s idle cut-off the counter stops
        idle = value()
        page.wait_for_timeout(1500)
        assert value() == idle
