"""The model step of Decide on its own: which source a decision type takes its proposal from."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.errors import InvalidRequest
from gateway.policy import load_policy_text
from gateway.review.commands import DecideCommand
from gateway.review.model import Principal, Proposal
from gateway.review.model_step import fill_proposal

ROOT = Path(__file__).resolve().parents[2]
CALLER = Principal(name="svc", roles=frozenset({"caller"}))


def _cmd(proposal: Proposal | None) -> DecideCommand:
    return DecideCommand(
        request_id="r1", decision_type="claims.payout", subject_ref="", input={"amount": 1}, proposal=proposal
    )


def _policy(section: str):
    return load_policy_text((ROOT / "policies" / "claims-triage.yaml").read_text() + section, "claims.yaml")


class TestFillProposal:
    def test_caller_source_needs_proposal(self) -> None:
        """No proposal where the source is caller is InvalidRequest on proposal."""
        with pytest.raises(InvalidRequest) as err:
            asyncio.run(fill_proposal(CALLER, _cmd(None), _policy(""), None))
        assert err.value.field == "proposal"

    def test_caller_source_keeps_proposal(self) -> None:
        """A caller's proposal where the source is caller passes unchanged."""
        cmd = _cmd(Proposal("approve", 0.9))
        assert asyncio.run(fill_proposal(CALLER, cmd, _policy(""), None)) is cmd

    def test_no_models_file_fails_closed(self) -> None:
        """source: model with no models file loaded records a failure, for the fail-closed queue."""
        cmd = asyncio.run(fill_proposal(CALLER, _cmd(None), _policy("proposal: {source: model, binding: m}\n"), None))
        assert cmd.proposal is not None and cmd.proposal.call["kind"] == "error"

    def test_unauthorised_caller_calls_nothing(self) -> None:
        """A principal without the caller role is left for plan_decide to refuse; no model is asked."""
        nobody = Principal(name="x", roles=frozenset())
        cmd = _cmd(None)
        assert asyncio.run(fill_proposal(nobody, cmd, _policy("proposal: {source: model, binding: m}\n"), None)) is cmd
