"""Checkpoints end to end: `signoff keys init`, a gateway that signs its head, and refusals in one line."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import pytest

from audit.checkpoint import parse_checkpoint
from gateway.bootstrap import Settings, build_app, configure_logging
from gateway.cli import main
from tests.conftest import NO_POSTGRES, POSTGRES_URL, ROOT
from tests.gateway.helpers import claim_request, decide


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _settings(db_url: str, policy_dir: Path, tmp_path: Path, **kw: object) -> Settings:
    kw = {"checkpoint_seconds": 0.2, **kw}
    return Settings(
        address="127.0.0.1:0",
        database_url=db_url,
        policy_dir=policy_dir,
        principals_file=ROOT / "config" / "dev-principals.yaml",
        checkpoints_dir=tmp_path / "cps",
        **kw,
    )  # type: ignore[arg-type]


class TestKeysInit:
    """`signoff keys init` writes a private key file only its owner can read."""

    def test_makes_a_0600_key_and_a_public_key(self, capsys, tmp_path: Path) -> None:
        """The private key is mode 0600 and the public key sits beside it."""
        code, out, _ = _run(capsys, "keys", "init", "--key", str(tmp_path / "k" / "cp.key"), "--name", "gw")
        assert code == 0
        assert stat.S_IMODE((tmp_path / "k" / "cp.key").stat().st_mode) == 0o600
        assert (tmp_path / "k" / "cp.key.pub").read_text().startswith("gw+")
        assert "public key" in out

    def test_refuses_to_overwrite(self, capsys, tmp_path: Path) -> None:
        """A second init on the same path is one line and exit 1, the first key kept."""
        _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"))
        before = (tmp_path / "cp.key").read_text()
        code, _, err = _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"))
        assert code == 1 and "refusing to overwrite" in err and len(err.splitlines()) == 1
        assert (tmp_path / "cp.key").read_text() == before

    def test_if_missing_keeps_the_existing_key(self, capsys, tmp_path: Path) -> None:
        """With --if-missing (the README's run command), a second init keeps the key and exits 0."""
        _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"))
        before = (tmp_path / "cp.key").read_text()
        code, out, _ = _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"), "--if-missing")
        assert code == 0 and "kept" in out
        assert (tmp_path / "cp.key").read_text() == before


class TestServeWithCheckpoints:
    """The gateway signs its head while serving and at shutdown; it refuses without a key."""

    def test_missing_key_is_one_line(self, capsys, tmp_path: Path) -> None:
        """`signoff serve` without a readable key says so in one line and exits 1."""
        code, _, err = _run(
            capsys,
            "serve",
            "--db",
            f"sqlite:///{tmp_path}/x.db",
            "--address",
            "127.0.0.1:0",
            "--signing-key",
            str(tmp_path / "none.key"),
        )
        assert code == 1 and "cannot read" in err and "--no-checkpoints" in err and len(err.splitlines()) == 1

    def test_shutdown_signs_the_final_head(self, capsys, db_url: str, policy_dir: Path, tmp_path: Path) -> None:
        """After decisions and a stop, the newest published note covers the whole log, and verify agrees."""
        _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"))
        configure_logging("warning")
        app = build_app(_settings(db_url, policy_dir, tmp_path, signing_key=tmp_path / "cp.key"))
        from tests.conftest import Client

        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            for _ in range(3):
                decide(Client(channel, ""), claim_request())
        finally:
            channel.close()
            app.stop()
        newest = sorted((tmp_path / "cps").glob("*.note"))[-1]
        cp, _ = parse_checkpoint(newest.read_text())
        code, out, _ = _run(
            capsys,
            "audit",
            "verify",
            "--db",
            db_url,
            "--workers",
            "1",
            "--checkpoints",
            str(tmp_path / "cps"),
            "--public-key",
            str(tmp_path / "cp.key.pub"),
        )
        assert code == 0 and f"head seq {cp.size}" in out and "blind window: 0 events" in out


class TestEditedPolicyText:
    """A policy text edited in the table is never presented under the original digest."""

    def _edit(self, db_url: str) -> None:
        """The attacker's edit: drop the trigger, change a threshold in the stored text."""
        import sqlite3

        from sqlalchemy import make_url

        db = sqlite3.connect(make_url(db_url).database)
        db.execute("DROP TRIGGER policy_versions_no_update")
        db.execute("UPDATE policy_versions SET text = replace(text, '0.92', '0.50') WHERE name = 'claims-triage'")
        db.commit()
        db.close()

    def test_get_policy_refuses_the_edited_text(self, client, db_url: str) -> None:
        """GetPolicy answers FAILED_PRECONDITION naming the digest instead of the forged text."""
        from signoff.v1 import policy_pb2
        from tests.conftest import auth

        req = policy_pb2.GetPolicyRequest(name="claims-triage", version=0)
        assert "0.92" in client.policies.GetPolicy(req, metadata=auth("carol"), timeout=5).text
        self._edit(db_url)
        try:
            client.policies.GetPolicy(req, metadata=auth("carol"), timeout=5)
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "does not match its digest" in err.details()
        else:
            raise AssertionError("the edited text was served")

    def test_explain_flags_the_edited_text(self, capsys, client, db_url: str) -> None:
        """explain says the stored text does not match what the events recorded, and does not print it."""
        d = decide(client, claim_request())
        self._edit(db_url)
        code, out, _ = _run(capsys, "audit", "explain", d.decision_id, "--db", db_url)
        assert code == 0 and "DOES NOT MATCH the digest" in out and "0.50" not in out


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)
class TestEditedPolicyTextOnPostgres:
    """The same attack on PostgreSQL, by the schema's owner (who may disable the triggers)."""

    def test_get_policy_and_explain_refuse_the_edited_text(self, capsys, tmp_path: Path) -> None:
        """After the owner edits a stored threshold, GetPolicy refuses and explain flags it, without the forged text."""
        import uuid

        from sqlalchemy import create_engine, make_url, text

        from signoff.v1 import policy_pb2
        from tests.conftest import Client, auth, start_app
        from tests.gateway.backends import copy_policies

        schema = f"signoff_test_{uuid.uuid4().hex[:12]}"
        owner = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(POSTGRES_URL)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
        app = start_app(url, copy_policies(tmp_path / "policies"))
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")  # type: ignore[attr-defined]
        try:
            client = Client(channel, "")
            d = decide(client, claim_request())
            req = policy_pb2.GetPolicyRequest(name="claims-triage", version=0)
            assert "0.92" in client.policies.GetPolicy(req, metadata=auth("carol"), timeout=5).text
            with owner.connect() as conn:
                conn.execute(text(f'ALTER TABLE "{schema}".policy_versions DISABLE TRIGGER USER'))
                conn.execute(
                    text(
                        f"UPDATE \"{schema}\".policy_versions SET text = replace(text, '0.92', '0.50') "
                        "WHERE name = 'claims-triage'"
                    )
                )
            with pytest.raises(grpc.RpcError) as err:
                client.policies.GetPolicy(req, metadata=auth("carol"), timeout=5)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "does not match its digest" in (err.value.details() or "")
        finally:
            channel.close()
            app.stop()  # type: ignore[attr-defined]
        try:
            code, out, _ = _run(capsys, "audit", "explain", d.decision_id, "--db", url)
            assert code == 0 and "DOES NOT MATCH the digest" in out and "0.50" not in out
        finally:
            with owner.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            owner.dispose()


class TestReceiptsAndProofs:
    """Decide and Submit carry receipts; a decision's proof checks offline against the public key."""

    def test_receipts_prove_and_check(self, capsys, db_url: str, policy_dir: Path, tmp_path: Path) -> None:
        """A Decide's receipt names its last event; before a checkpoint prove says so; after, the proof checks."""
        import json

        from tests.conftest import Client, auth
        from tests.gateway.helpers import claim, submit

        _run(capsys, "keys", "init", "--key", str(tmp_path / "cp.key"))
        configure_logging("warning")
        app = build_app(
            _settings(
                db_url,
                policy_dir,
                tmp_path,
                signing_key=tmp_path / "cp.key",
                checkpoint_seconds=3600.0,
                checkpoint_events=10**6,
            )
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            client = Client(channel, "")
            resp = client.decisions.Decide(claim_request(confidence=0.80), metadata=auth("caller"), timeout=30)
            d, receipt = resp.decision, resp.receipt
            assert receipt.seq > 0 and len(receipt.hash) == 64
            code, _, err = _run(capsys, "audit", "prove", d.decision_id, "--db", db_url)
            assert code == 1 and "no checkpoint covers it yet" in err and len(err.splitlines()) == 1
            task = claim(client, "junior", "alice").task
            sub = submit(client, task.task_id, "alice", "approve", reason="fine")
            assert sub.receipt.seq > receipt.seq
        finally:
            channel.close()
            app.stop()  # signs the final head
        proof = tmp_path / "proof.json"
        code, out, _ = _run(capsys, "audit", "prove", d.decision_id, "--db", db_url, "--out", str(proof))
        assert code == 0 and "written to" in out
        code, out, _ = _run(capsys, "audit", "check-proof", str(proof), "--public-key", str(tmp_path / "cp.key.pub"))
        assert code == 0 and f"proof ok: decision {d.decision_id}" in out
        doc = json.loads(proof.read_text())
        doc["rows"][-1][9] = doc["rows"][-1][9].replace("fine", "forged")
        proof.write_text(json.dumps(doc))
        code, out, _ = _run(capsys, "audit", "check-proof", str(proof), "--public-key", str(tmp_path / "cp.key.pub"))
        assert code == 1 and "PROOF FAILED" in out and "its hash is not the hash of its columns" in out

    def test_proof_against_another_key_fails(self, capsys, tmp_path: Path) -> None:
        """A proof checked against a key that did not sign its checkpoint fails, naming the checkpoint."""
        from audit.checkpoint import Checkpoint, generate_key, sign_checkpoint
        from audit.proof import build_proof, dumps

        note = sign_checkpoint(Checkpoint("o", 1, "ab" * 32, "2026-12-02T19:00:00.000000Z"), generate_key("a"))
        (tmp_path / "p.json").write_text(dumps(build_proof("d", [[1] + [""] * 11], note)))
        _run(capsys, "keys", "init", "--key", str(tmp_path / "b.key"), "--name", "a")
        code, out, _ = _run(
            capsys, "audit", "check-proof", str(tmp_path / "p.json"), "--public-key", str(tmp_path / "b.key.pub")
        )
        assert code == 1 and "checkpoint:" in out and "not signed by key a+" in out

    def test_malformed_proof_is_one_line(self, capsys, tmp_path: Path) -> None:
        """A file that is not JSON is refused in one line with exit 1."""
        (tmp_path / "p.json").write_text("{nope")
        _run(capsys, "keys", "init", "--key", str(tmp_path / "k.key"))
        code, _, err = _run(
            capsys, "audit", "check-proof", str(tmp_path / "p.json"), "--public-key", str(tmp_path / "k.key.pub")
        )
        assert code == 1 and "not JSON" in err and len(err.splitlines()) == 1
