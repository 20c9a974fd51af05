"""Crypto-shredding end to end: personal fields stored sealed, shown opened, erased with the chain intact.

A copy of the claims policy marks ``claimant_name`` personal. Through the generated stubs a
gateway on SQLite or PostgreSQL decides, holds and signs off claims for one subject; then
``signoff subject`` holds, exports and erases that subject, and every reader (Get, Query, explain,
feedback export, verify) is checked against the database rows themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text

from gateway.cli import main
from signoff.v1 import audit_pb2, decision_pb2, review_pb2
from tests.conftest import auth
from tests.gateway.backends import BACKENDS, copy_policies, edit_claims_policy, served
from tests.gateway.helpers import claim, claim_request, decide, submit

NAME = "Ada Lovelace"
SUBJECT = "subj-erase-1"


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _personal_policies(root: Path) -> Path:
    personal = "    claimant_name:\n      type: string\n      x-personal: true\n"
    reopen = "reopen: {roles: [auditor], queue: senior}\n"
    policies = edit_claims_policy(copy_policies(root / "policies"), region=personal, append=reopen)
    claims = policies / "claims-triage.yaml"  # no audit draw: the automatic decision is reopened below
    claims.write_text(claims.read_text().replace("audit_auto_rate: 0.02", "audit_auto_rate: 0.0"))
    return policies


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:  # type: ignore[type-arg]
    """A gateway over SQLite or a fresh PostgreSQL schema, with the personal policy; its URL."""
    root = tmp_path_factory.mktemp("erasure")
    with served(request.param, root, _personal_policies(root)) as (url, client, _):
        held = claim_request(confidence=0.85, claimant_name=NAME)
        held.subject_ref = SUBJECT
        auto = claim_request(confidence=0.97, claimant_name=NAME)
        auto.subject_ref = SUBJECT
        first = decide(client, held)
        second = decide(client, auto)
        retried = decide(client, held)  # the same request again: the same decision, opened
        assert retried.decision_id == first.decision_id and retried.input["claimant_name"] == NAME
        task = claim(client, "junior", "alice").task
        signed = submit(client, task.task_id, "alice", "override", outcome="deny", reason=f"{NAME} called: duplicate")
        reopen = review_pb2.ReopenDecisionRequest(decision_id=second.decision_id, reason=f"{NAME} wrote in")
        reopened = client.review.ReopenDecision(reopen, metadata=auth("carol"), timeout=10).task
        yield {
            "held_request": held,
            "url": url,
            "client": client,
            "held": first,
            "auto": second,
            "signed": signed,
            "reopened": reopened,
            "root": root,
        }


def _stored(url: str) -> tuple[str, str]:
    """Everything the decisions table and the audit log hold, as text."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT input_json, review_reason FROM decisions")).all()
            events = conn.execute(text("SELECT body_json FROM audit_events")).scalars().all()
    finally:
        engine.dispose()
    return json.dumps([list(r) for r in rows]), "\n".join(events)


class TestBeforeErasure:
    """While the key lives: stored sealed, shown opened."""

    def test_the_database_holds_no_plaintext(self, world: dict) -> None:  # type: ignore[type-arg]
        """Neither the decisions rows nor any event body holds the name, the reviewer's reason or the
        auditor's reason for reopening."""
        decisions_text, events_text = _stored(world["url"])
        assert NAME not in decisions_text and NAME not in events_text
        assert "aes-256-gcm" in decisions_text and "$sealed:" in decisions_text  # the field and the reason
        assert "aes-256-gcm" in events_text and "$sealed:" in events_text

    def test_the_caller_and_get_see_the_plaintext(self, world: dict) -> None:  # type: ignore[type-arg]
        """Decide's answer and GetDecision carry the field opened; the sign-off reason too."""
        assert world["auto"].input["claimant_name"] == NAME
        got = (
            world["client"]
            .decisions.GetDecision(
                decision_pb2.GetDecisionRequest(decision_id=world["held"].decision_id),
                metadata=auth("alice"),
                timeout=10,
            )
            .decision
        )
        assert got.input["claimant_name"] == NAME
        assert got.review_reason == f"{NAME} called: duplicate"
        assert world["signed"].decision.input["claimant_name"] == NAME

    def test_a_personal_field_without_subject_ref_is_refused(self, world: dict) -> None:  # type: ignore[type-arg]
        """A Decide that carries a personal field but no subject_ref: INVALID_ARGUMENT naming it."""
        req = claim_request(claimant_name=NAME)
        req.subject_ref = ""
        with pytest.raises(grpc.RpcError) as err:
            decide(world["client"], req)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "subject_ref" in (err.value.details() or "")

    def test_a_retry_with_another_name_is_a_conflict(self, world: dict) -> None:  # type: ignore[type-arg]
        """Personal fields are outside the digest but compared opened: another name is ALREADY_EXISTS."""
        req = decision_pb2.DecideRequest()
        req.CopyFrom(world["held_request"])
        req.input["claimant_name"] = "Someone Else"
        with pytest.raises(grpc.RpcError) as err:
            decide(world["client"], req)
        assert err.value.code() is grpc.StatusCode.ALREADY_EXISTS

    def test_the_chained_digest_confirms_no_guess(self, world: dict) -> None:  # type: ignore[type-arg]
        """The request digest in the log is over the input with personal fields masked, so a guessed
        name cannot be checked against it once the key is gone."""
        from gateway.review.rules import decide_texts
        from gateway.rpc.convert import decide_command

        cmd = decide_command(world["held_request"])
        engine = create_engine(world["url"])
        try:
            with engine.connect() as conn:
                stored = conn.execute(
                    text("SELECT request_digest FROM decisions WHERE decision_id = :d"),
                    {"d": world["held"].decision_id},
                ).scalar_one()
                logged = conn.execute(
                    text("SELECT body_json FROM audit_events WHERE decision_id = :d AND type = 'decision_received'"),
                    {"d": world["held"].decision_id},
                ).scalar_one()
        finally:
            engine.dispose()
        assert json.loads(logged)["request_digest"] == stored == decide_texts(cmd, ["claimant_name"])[1]
        assert stored != decide_texts(cmd)[1]


class TestErasure:
    """Hold, access, erase; in this order (the tests of this class share one database)."""

    def test_1_a_hold_refuses_erasure_in_one_line(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Under a legal hold, erase is one line naming the hold, and exit 1; the key stays."""
        code, out, _ = _run(capsys, "subject", "hold", SUBJECT, "--reason", "litigation 2026-117", "--db", world["url"])
        assert code == 0 and "legal hold" in out
        code, _, err = _run(capsys, "subject", "erase", SUBJECT, "--reason", "Art. 17", "--db", world["url"])
        assert code == 1 and len(err.splitlines()) == 1 and "litigation 2026-117" in err
        got = world["client"].decisions.GetDecision(_get(world["auto"].decision_id), metadata=auth("carol"), timeout=10)
        assert got.decision.input["claimant_name"] == NAME

    def test_2_access_export_names_the_logic_and_the_reviewer(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """The Art. 15 export lists both decisions with rule, reasons, the reviewer and the hold."""
        code, out, _ = _run(capsys, "subject", "export", SUBJECT, "--db", world["url"])
        assert code == 0
        assert "2 decision(s)" in out and "legal hold" in out
        assert world["held"].decision_id in out and world["auto"].decision_id in out
        assert "review_band" in out and "confident" in out and "alice" in out
        assert NAME in out
        code, out, _ = _run(capsys, "subject", "export", SUBJECT, "--format", "json", "--db", world["url"])
        report = json.loads(out)
        assert [t["routing"]["rule"] for t in report["decisions"]] == ["review_band", "confident"]
        review = report["decisions"][0]["reviews"][0]
        assert review["by"] == "alice" and review["reason"] == f"{NAME} called: duplicate"

    def test_3_erase_after_release(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Released, the subject is erased: one event logged, and a second erase has nothing left to do."""
        code, _, _ = _run(capsys, "subject", "release", SUBJECT, "--reason", "case closed", "--db", world["url"])
        assert code == 0
        code, out, _ = _run(capsys, "subject", "erase", SUBJECT, "--reason", "Art. 17 request", "--db", world["url"])
        assert code == 0 and "destroyed" in out and "subject_erased" in out
        code, out, _ = _run(capsys, "subject", "erase", SUBJECT, "--reason", "again", "--db", world["url"])
        assert code == 0 and "already" in out

    def test_4_the_chain_still_verifies(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Erasure rewrote nothing chained: verify is ok, and the rows still hold the same ciphertext."""
        code, out, err = _run(capsys, "audit", "verify", "--db", world["url"])
        assert code == 0, err
        assert "ok" in out

    def test_5_readers_show_the_fields_erased(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Get, Query and explain show the field and the reason erased; statistics still count them."""
        client = world["client"]
        got = client.decisions.GetDecision(_get(world["held"].decision_id), metadata=auth("carol"), timeout=10).decision
        assert dict(got.input["claimant_name"]) == {"$erased": True}
        assert got.review_reason == "[erased]"
        assert got.input["amount"] == 1200  # what is not personal stays
        page = client.audit.QueryDecisions(
            audit_pb2.QueryDecisionsRequest(decision_type="claims.payout"), metadata=auth("carol"), timeout=10
        )
        mine = [d for d in page.decisions if d.subject_ref == SUBJECT]
        assert len(mine) == 2 and all(dict(d.input["claimant_name"]) == {"$erased": True} for d in mine)
        code, out, _ = _run(capsys, "audit", "explain", world["held"].decision_id, "--db", world["url"])
        assert code == 0
        assert "claimant_name=[erased]" in out and "Personal data erased: claimant_name" in out and NAME not in out

    def test_6_feedback_export_keeps_the_row_without_the_field(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """The correction stays in the retraining export; the erased field is absent and named."""
        out_file = world["root"] / "feedback.jsonl"
        code, _, err = _run(
            capsys,
            "export",
            "feedback",
            "--db",
            world["url"],
            "--since",
            "2000-01-01",
            "--until",
            "2100-01-01",
            "--format",
            "jsonl",
            "--out",
            str(out_file),
        )
        assert code == 0, err
        rows = [json.loads(line) for line in out_file.read_text().splitlines()]
        mine = [r for r in rows if r["decision_id"] == world["held"].decision_id]
        assert len(mine) == 1
        assert "claimant_name" not in mine[0]["input"] and mine[0]["erased_fields"] == "claimant_name"
        assert mine[0]["final_outcome"] == "deny" and mine[0]["input"]["amount"] == 1200

    def test_6b_the_report_counts_the_erasure_and_still_counts_the_decisions(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """The report's personal-data section: one erasure, the hold placed and released, both of the
        subject's decisions with their fields erased (not a later one, sealed under a new key); the
        volumes still count them; no name anywhere."""
        later = claim_request(confidence=0.97, claimant_name=NAME)
        later.subject_ref = SUBJECT
        decide(world["client"], later)  # after the erasure: a new key, so its field reads
        args = ["report", "--db", world["url"], "--from", "2000-01-01", "--to", "2100-01-01", "--format", "json"]
        code, out, err = _run(capsys, *args, "--no-verify")
        assert code == 0, err
        report = json.loads(out)
        p = report["personal_data"]
        assert (p["erasures"], p["subjects_erased"], p["holds_placed"], p["holds_released"]) == (1, 1, 1, 1)
        assert p["keys_destroyed"] >= 1 and p["subjects_under_hold"] == 0
        assert p["decisions_before_erasure"] == 2
        assert report["volumes"]["total"] >= 2 and NAME not in out
        code, html, _ = _run(capsys, *args[:-2], "--format", "html", "--no-verify")
        assert code == 0 and "Personal data (GDPR Art. 15 and 17)" in html and NAME not in html

    def test_7_unknown_subject_is_refused(self, capsys, world: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
        """Erasing a subject the gateway holds nothing for: one line, exit 1."""
        code, _, err = _run(capsys, "subject", "erase", "nobody-here", "--reason", "x", "--db", world["url"])
        assert code == 1 and len(err.splitlines()) == 1 and "nobody-here" in err
        code, _, err = _run(capsys, "subject", "export", "nobody-here", "--db", world["url"])
        assert code == 1 and len(err.splitlines()) == 1


def _get(decision_id: str):  # type: ignore[no-untyped-def]
    from signoff.v1 import decision_pb2

    return decision_pb2.GetDecisionRequest(decision_id=decision_id)
