"""A small, fully known claims day written through the real review service and SQL store.

Every count, rate and time in the report tests follows from the script in ``build_dataset``:
a hand-stepped clock fixes each time to decision, and hand-picked ids fix the audit draw.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.adapters import SqlStore, make_engine, upgrade
from gateway.registry import PolicyRegistry
from gateway.review.commands import DecideCommand, SubmitCommand
from gateway.review.model import Action, Decision, Principal, Proposal
from gateway.review.policies import record_policies
from gateway.review.rules import sample_draw
from gateway.review.service import ReviewService
from gateway.runtime import LocalNotifier
from tests.conftest import ROOT

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""The clock's first reading, and the start of the reported period."""

AUDIT_RATE = 0.5
"""The test policy's audit_auto_rate (the shipped policy's 0.02 would sample nothing here)."""

CALLER = Principal("claims-service", frozenset({"caller"}))
ALICE = Principal("alice", frozenset({"junior_adjuster"}))
BOB = Principal("bob", frozenset({"senior_adjuster"}))
CAROL = Principal("carol", frozenset({"auditor", "auditor_reviewer"}))


class StepClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.now_ = start

    def now(self) -> datetime:
        """The current reading."""
        return self.now_

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.now_ += timedelta(seconds=seconds)


class QueuedIds:
    """Hands out the ids pushed to it, then numbered ones."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.n = 0

    def push(self, value: str) -> None:
        """The next ``new()`` returns ``value``."""
        self.pending.append(value)

    def new(self) -> str:
        """The next pushed id, or a fresh numbered one."""
        if self.pending:
            return self.pending.pop(0)
        self.n += 1
        return f"task-{self.n:04d}"


def ids_drawing(sampled: bool, count: int) -> list[str]:
    """``count`` decision ids whose audit draw falls under (or over) ``AUDIT_RATE``."""
    out, k = [], 0
    while len(out) < count:
        k += 1
        candidate = f"auto-{k:04d}"
        if (sample_draw(candidate) < AUDIT_RATE) == sampled:
            out.append(candidate)
    return out


@dataclass
class Dataset:
    """The database and what was done to it."""

    db_url: str
    engine: object
    ids: dict[str, list[str]] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)


def build_dataset(db_url: str, policy_dir: Path) -> Dataset:
    """The scripted day; see the module docstring of ``test_report.py`` for the expected figures."""
    engine = make_engine(db_url)
    upgrade(engine)
    store = SqlStore(engine)
    clock = StepClock(START - timedelta(hours=1))
    ids = QueuedIds()
    registry = PolicyRegistry(policy_dir, lambda ps: asyncio.run(record_policies(store, clock, ps)))
    registry.load()
    svc = ReviewService(store, registry, clock, ids, LocalNotifier())
    data = Dataset(db_url=db_url, engine=engine)

    def decide(decision_id: str, confidence: float, amount: float = 1000.0, outcome: str = "approve") -> Decision:
        ids.push(decision_id)
        clock.advance(1)
        cmd = DecideCommand(
            request_id=f"req-{decision_id}",
            decision_type="claims.payout",
            subject_ref=f"holder-{decision_id}",
            input={"amount": amount, "claim_type": "auto"},
            proposal=Proposal(
                outcome=outcome,
                confidence=confidence,
                scores={outcome: confidence},
                model="claims-gbm",
                model_version="2026.03",
                explanation="similar claims paid",
            ),
        )
        d = asyncio.run(svc.decide(CALLER, cmd))
        data.decisions[decision_id] = d
        return d

    def review(who: Principal, queue: str, after: float, action: Action, outcome: str = "", reason: str = "") -> None:
        clock.advance(after)
        got = asyncio.run(svc.claim_next(who, queue))
        assert got is not None
        task, _ = got
        asyncio.run(svc.submit(who, SubmitCommand(task_id=task.task_id, action=action, outcome=outcome, reason=reason)))

    try:
        decide("early-1", 0.97)  # before the period: must not count
        clock.now_ = START
        sampled, unsampled = ids_drawing(True, 4), ids_drawing(False, 6)
        data.ids = {"sampled": sampled, "unsampled": unsampled}
        for i in range(6):
            decide(unsampled[i], 0.97)
            if i < 4:
                decide(sampled[i], 0.95)
        for k, conf in enumerate((0.80, 0.85, 0.75, 0.88, 0.82, 0.90)):
            decide(f"junior-{k}", conf)
        decide("senior-0", 0.60)
        decide("senior-1", 0.65)
        decide("senior-2", 0.95, amount=60_000)
        decide("senior-3", 0.97, amount=75_000)
        # junior: times to decision are set by the clock steps (decisions were created 1 s apart).
        review(ALICE, "junior", 60, Action.APPROVE)
        review(ALICE, "junior", 60, Action.APPROVE)
        review(ALICE, "junior", 60, Action.EDIT, outcome="partial", reason="only the windscreen is covered")
        review(ALICE, "junior", 60, Action.OVERRIDE, outcome="deny", reason="claim filed after the deadline")
        review(ALICE, "junior", 60, Action.APPROVE)
        # junior-5 stays pending. senior: one claim lapses back to the queue first.
        got = asyncio.run(svc.claim_next(BOB, "senior"))
        assert got is not None
        asyncio.run(svc.release(BOB, got[0].task_id, "need the police report"))
        review(BOB, "senior", 30, Action.REJECT, reason="duplicate of an earlier claim")
        review(BOB, "senior", 30, Action.OVERRIDE, outcome="partial", reason="deductible applies")
        review(BOB, "senior", 30, Action.APPROVE)
        review(BOB, "senior", 30, Action.APPROVE)
        # audit: three of the four samples reviewed, one corrected.
        review(CAROL, "audit", 10, Action.OVERRIDE, outcome="deny", reason="policy lapsed before the loss")
        review(CAROL, "audit", 10, Action.APPROVE)
        review(CAROL, "audit", 10, Action.APPROVE)
    finally:
        store.close()
    return data


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    """The scripted day in a SQLite file, built once per test module."""
    tmp = tmp_path_factory.mktemp("reports")
    policy_dir = tmp / "policies"
    policy_dir.mkdir()
    text = (ROOT / "policies" / "claims-triage.yaml").read_text(encoding="utf-8")
    assert "audit_auto_rate: 0.02" in text
    (policy_dir / "claims-triage.yaml").write_text(
        text.replace("audit_auto_rate: 0.02", f"audit_auto_rate: {AUDIT_RATE}")
    )
    shutil.copytree(ROOT / "policies" / "schema", policy_dir / "schema")
    data = build_dataset(f"sqlite:///{tmp / 'signoff.db'}", policy_dir)
    yield data
    data.engine.dispose()  # type: ignore[attr-defined]
