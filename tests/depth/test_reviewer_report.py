"""The compliance report's reviewer-engagement section, over a real SQLite store and a moved clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.adapters import SqlStore, make_engine, upgrade
from gateway.policy import load_policy
from gateway.reports.html import render_html
from gateway.reports.longform import report_rows
from gateway.reports.report import build_report
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Principal, Proposal
from gateway.review.service import ReviewService
from gateway.runtime import UuidIds
from tests.policy.conftest import REPO
from tests.review.fakes import FakeClock, FakePolicies, NullNotifier

CALLER = Principal("svc", frozenset({"caller"}))
STAMPER = Principal("sam", frozenset({"junior_adjuster"}))
CAREFUL = Principal("cara", frozenset({"junior_adjuster"}))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    """A day: sam approves 25 cases a second after claiming; cara takes two minutes and overrides a third."""
    path: Path = tmp_path_factory.mktemp("rev") / "signoff.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    store, clock = SqlStore(engine), FakeClock()
    service = ReviewService(
        store, FakePolicies(load_policy(REPO / "policies" / "claims-triage.yaml")), clock, UuidIds(), NullNotifier()
    )
    start = clock.now()

    async def day() -> None:
        for i in range(40):
            who, pause = (STAMPER, 1.0) if i % 8 < 5 else (CAREFUL, 120.0)
            await service.decide(
                CALLER,
                DecideCommand(
                    request_id=f"r{i}",
                    decision_type="claims.payout",
                    subject_ref="s",
                    input={"amount": 900 + i, "claim_type": "home"},
                    proposal=Proposal("approve", 0.81),
                ),
            )
            task, _ = await service.claim_next(who, "junior")
            clock.advance(seconds=pause)
            if who is CAREFUL and i % 3 == 0:
                cmd = SubmitCommand(task.task_id, Action.OVERRIDE, outcome="partial", reason="glass only")
            else:
                cmd = SubmitCommand(task.task_id, Action.APPROVE)
            await service.submit(who, cmd)

    try:
        asyncio.run(day())
        yield build_report(engine, start, clock.now() + timedelta(seconds=1), verify=False)
    finally:
        store.close()
        engine.dispose()


class TestReviewerSection:
    """What the report says about the two reviewers."""

    def test_the_stamper_is_flagged_and_the_careful_reviewer_is_not(self, report):
        """sam is flagged fast_approver and under_overrides; cara has no flag."""
        section = report["reviewers"]
        rows = {r["reviewer"]: r for r in section["by_reviewer"]}
        assert section["flagged"] == ["sam"]
        assert set(rows["sam"]["flags"]) == {"fast_approver", "under_overrides"} and rows["cara"]["flags"] == []
        assert rows["sam"]["median_claim_to_submit_seconds"] == 1.0 and rows["cara"]["approval_rate"] < 0.7

    def test_rules_are_stated(self, report):
        """Each flag's rule is written in the report itself."""
        assert "97%" in report["reviewers"]["flag_rules"]["fast_approver"]

    def test_html_has_the_section(self, report):
        """The HTML report shows the section, the bars and the flag."""
        html = render_html(report)
        assert "<h2>Reviewer engagement</h2>" in html and "fast_approver" in html and "<svg" in html

    def test_long_form_rows_carry_the_flags(self, report):
        """The CSV long form has one flags row per reviewer."""
        rows = [r for r in report_rows(report) if r[0] == "reviewers.by_reviewer" and r[2] == "flags"]
        assert sorted((key, value) for _, key, _, value in rows) == [
            ("queue=*;reviewer=cara", ""),
            ("queue=*;reviewer=sam", "fast_approver;under_overrides"),
        ]
