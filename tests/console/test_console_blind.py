"""The case view's blind mode: with a blind task the proposal is absent from the HTML itself.

Blind-first tasks arrive with the review-depth issue (a ``blind`` flag on the task). Until the
domain has it, this renders the real template with a task that carries the flag, built from a
real held decision, so the page's rule (``review_pages.is_blind``) is fixed now.
"""

from __future__ import annotations

import asyncio
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.console.review_pages import is_blind
from gateway.console.web import make_templates
from gateway.review.model import Task


@dataclasses.dataclass(frozen=True, slots=True)
class BlindTask(Task):
    """A task with the review-depth issue's ``blind`` flag set (that issue adds it to ``Task``)."""

    blind: bool = True


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
        ctx["task"] = BlindTask(**{f.name: getattr(ctx["task"], f.name) for f in dataclasses.fields(Task)})
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
