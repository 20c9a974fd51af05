"""The case view's blind mode: with a blind task the proposal is absent from the HTML itself.

This renders the real template for a real held decision whose task is marked blind-first and
not yet revealed (``review_pages.is_blind``); the use cases withhold the proposal as well
(``tests/depth/test_blind_e2e.py``), and the page must not show it even if handed one.
"""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.console.review_pages import is_blind
from gateway.console.web import make_templates


def _context(console_app: Any, grpc_client: Any, blind: bool) -> dict[str, Any]:
    from gateway.console.review_pages import case_context
    from tests.console.helpers import held
    from tests.gateway.helpers import claim

    held(grpc_client, explanation="the model's secret reasoning")
    task = claim(grpc_client, "junior", "alice").task
    console = console_app.console.console
    alice = console.principal_named("alice")
    # case_context is a coroutine of the console's loop; run it on a thread of its own, since the
    # browser tests' Playwright keeps a loop marked running on this one.
    with ThreadPoolExecutor(1) as pool:
        ctx = pool.submit(asyncio.run, case_context(console, alice, task.task_id)).result()
    if blind:
        ctx["task"] = dataclasses.replace(ctx["task"], blind=True)
        ctx["blind"] = is_blind(ctx["task"])
        ctx["proposal"] = None if ctx["blind"] else ctx["decision"].proposal
    return ctx


def _render(ctx: dict[str, Any]) -> str:
    base = {
        "session": None,
        "principal": None,
        "nav": {"queues": [], "auditor": False},
        "csrf": "t",
        "path": "/tasks/x",
        "idle_cutoff": 60,
    }
    return make_templates().get_template("task.html").render({**base, **ctx})


class TestBlindCase:
    """What the page holds before the initial outcome."""

    def test_a_blind_task_leaves_the_proposal_out_of_the_page(self, console_app, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """No outcome, confidence, model or explanation of the proposal is in the HTML."""
        html = _render(_context(console_app, grpc_client, blind=True))
        assert "Blind review" in html
        for leak in ("the model&#39;s secret reasoning", "0.81", "claims-gbm", 'id="proposal"'):
            assert leak not in html

    def test_an_ordinary_task_shows_the_proposal(self, console_app, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The same case, not blind, shows the proposal (so the test above can fail)."""
        html = _render(_context(console_app, grpc_client, blind=False))
        assert 'id="proposal"' in html and "the model&#39;s secret reasoning" in html and "0.81" in html
