"""The anchored log on SQLite and PostgreSQL: checkpoint triggers, the checkpointer, and the tamper suite.

The attacker holds file or owner access: the append-only triggers are dropped (SQLite) or
disabled (``DISABLE TRIGGER USER``, the PostgreSQL owner) before each tampering, as they would be.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from audit import AuditLog, NewEvent
from audit.chain import chain_hash, stored_preimage
from audit.checkpoint import Checkpoint, SignerKey, generate_key, parse_checkpoint, sign_checkpoint
from gateway.adapters.checkpointer import Checkpointer, check_not_behind
from gateway.adapters.db import WRITE
from gateway.cli import main
from gateway.errors import PreconditionFailed

LOG = AuditLog()
T0 = datetime(2026, 12, 2, 9, 0, 0, 250000, tzinfo=UTC)
N = 300


def _append(engine: Engine, n: int, start: int = 0) -> None:
    """Append ``n`` events in one transaction."""
    events = [
        NewEvent(
            type="note",
            time=T0 + timedelta(milliseconds=start + i),
            actor="gw",
            decision_id=f"d-{start + i}",
            body={"i": start + i},
        )
        for i in range(n)
    ]
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            LOG.append(conn, events)


def _unguard(engine: Engine, *tables: str) -> None:
    """What an attacker with file or owner access does first: switch the triggers off."""
    with engine.begin() as conn:
        for table in tables:
            if engine.dialect.name == "sqlite":
                for name in (
                    conn.execute(
                        text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"), {"t": table}
                    )
                    .scalars()
                    .all()
                ):
                    conn.execute(text(f"DROP TRIGGER {name}"))
            else:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def _truncate(engine: Engine, keep: int) -> None:
    """Delete every event after seq ``keep``."""
    _unguard(engine, "audit_events")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :k"), {"k": keep})


def _rechain_from(engine: Engine, seq: int, body: str) -> None:
    """Edit row ``seq``'s body and recompute every later hash, so the chain walk verifies."""
    _unguard(engine, "audit_events")
    with engine.connect() as conn:
        rows = [r for r in LOG.iter_stored(conn) if r[0] >= seq]
        conn.rollback()
    with engine.begin() as conn:
        prev = None
        for r in rows:
            r = list(r)
            if r[0] == seq:
                r[9] = body
            if prev is not None:
                r[10] = prev
            r[11] = chain_hash(r[10], stored_preimage(r[0], *r[1:10]))
            conn.execute(
                text("UPDATE audit_events SET body_json = :b, prev_hash = :p, hash = :h WHERE seq = :s"),
                {"b": r[9], "p": r[10], "h": r[11], "s": r[0]},
            )
            prev = r[11]


def _verify(capsys: pytest.CaptureFixture[str], url: str, cps: Path, pub: Path, *extra: str) -> tuple[int, str]:
    """Run ``signoff audit verify --checkpoints`` and return its status and output."""
    code = main(
        ["audit", "verify", "--db", url, "--workers", "1", "--checkpoints", str(cps), "--public-key", str(pub), *extra]
    )
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture(autouse=True)
def _logging() -> None:
    """Log lines go to this test's captured stderr (an earlier test may have configured another)."""
    from gateway.bootstrap import configure_logging

    configure_logging("info")


@pytest.fixture
def key(tmp_path: Path) -> tuple[SignerKey, Path, Path]:
    """A signing key in a file, and its public key file."""
    k = generate_key("test-gw")
    priv, pub = tmp_path / "k.key", tmp_path / "k.key.pub"
    priv.write_text(k.encode() + "\n")
    pub.write_text(k.verifier.encode() + "\n")
    return k, priv, pub


@pytest.fixture
def signed(engine: Engine, key: tuple[SignerKey, Path, Path], tmp_path: Path) -> Checkpointer:
    """A log of ``N`` events with checkpoints signed at seq 100 and at ``N``, published in tmp/cps."""
    cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
    _append(engine, 100)
    cp.checkpoint()
    _append(engine, N - 100, 100)
    cp.checkpoint()
    return cp


class TestCheckpointTable:
    """Migration 0006: the checkpoints table only moves forward; policy texts are append-only."""

    def test_checkpoint_behind_the_last_is_refused(self, engine: Engine, signed: Checkpointer) -> None:
        """A checkpoint at a seq at or behind the newest published one is refused by the database."""
        note = sign_checkpoint(Checkpoint("o", 50, "ab" * 32, "2026-12-02T19:00:00.000000Z"), signed.key)
        with pytest.raises(DBAPIError, match="behind"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO checkpoints (kind, seq, hash, time, origin, key_id, note) "
                    "VALUES ('published', 50, :h, 't', 'o', 'k', :n)"
                ),
                {"h": "ab" * 32, "n": note},
            )

    def test_checkpoints_refuse_update_and_delete(self, engine: Engine, signed: Checkpointer) -> None:
        """Stored checkpoints cannot be edited or deleted while the triggers stand."""
        for sql in ("UPDATE checkpoints SET seq = 1", "DELETE FROM checkpoints"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))

    def test_policy_versions_refuse_update(self, engine: Engine) -> None:
        """A stored policy text cannot be edited on either backend."""
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO policy_versions (name, version, digest, decision_type, text, loaded_at) "
                    "VALUES ('p', 1, 'd', 't', 'x', :t)"
                ),
                {"t": T0},
            )
        for sql in ("UPDATE policy_versions SET text = 'forged'", "DELETE FROM policy_versions"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(sql))


class TestCheckpointer:
    """The gateway's checkpointer signs, stores and publishes the head."""

    def test_publishes_one_file_per_checkpoint(self, signed: Checkpointer, tmp_path: Path) -> None:
        """Each checkpoint is a file named by its seq, holding the signed note of the head."""
        files = sorted(p.name for p in (tmp_path / "cps").iterdir())
        assert files == [f"{100:020d}.note", f"{N:020d}.note"]
        cp, _ = parse_checkpoint((tmp_path / "cps" / files[-1]).read_text())
        assert (cp.origin, cp.size) == ("test-origin", N)

    def test_nothing_new_signs_nothing(self, signed: Checkpointer) -> None:
        """With no event since the last checkpoint, no checkpoint is made."""
        assert signed.checkpoint() is None and signed.tick(10.0**10) is None

    def test_due_after_every_events(self, engine: Engine, signed: Checkpointer) -> None:
        """``tick`` signs once ``every_events`` events came, and not before."""
        signed.every_events = 5
        _append(engine, 4, N)
        assert signed.tick(0.0) is None
        _append(engine, 1, N + 4)
        assert signed.tick(0.0) is not None

    def test_witness_that_does_not_answer_is_counted(self, engine: Engine, signed: Checkpointer) -> None:
        """A dead witness URL does not stop checkpointing; the failure is counted."""
        signed.witness_url, signed.witness_timeout = "http://127.0.0.1:1", 2.0
        _append(engine, 1, N)
        assert signed.checkpoint() is not None and signed.witness_failures == 1

    def test_witness_cosigns_and_refuses_going_back(self, engine: Engine, signed: Checkpointer) -> None:
        """A tlog-witness accepts add-checkpoint with the old size it holds, else answers 409."""
        witness = _Witness()
        try:
            signed.witness_url = witness.url
            _append(engine, 1, N)
            signed.checkpoint()  # old N, but the witness holds 0: 409 "0", sent again from 0
            assert witness.seen == [(N + 1, N, 409), (N + 1, 0, 200)] and signed.witness_failures == 0
            witness.size = 10**6  # the witness has seen a newer head than ours: refused, counted
            _append(engine, 1, N + 1)
            signed.checkpoint()
            assert witness.seen[-1] == (N + 2, N + 1, 409) and signed.witness_failures == 1
        finally:
            witness.close()


class _Witness:
    """A minimal witness following C2SP tlog-witness add-checkpoint (no real witness runs here):
    ``old <size>`` must equal the size it holds for the origin, else 409 with its size; an
    accepted checkpoint is answered with a real cosignature/v1 line (C2SP tlog-cosignature)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        from audit.cosignature import CosignerKey

        self.size = 0
        self.private = Ed25519PrivateKey.generate()
        self.key = CosignerKey.of("witness.test/w1", self.private)
        self.seen: list[tuple[int, int, int]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                old = int(body.split("\n", 1)[0].removeprefix("old "))
                cp, _ = parse_checkpoint(body.split("\n\n", 1)[1])
                status = 200 if old == outer.size else 409
                outer.seen.append((cp.size, old, status))
                if status == 200:
                    outer.size = cp.size
                if status == 200:
                    from audit.cosignature import cosign

                    answer = cosign(cp.body(), outer.key.name, outer.private, 1_780_000_000).encode()
                else:
                    answer = f"{outer.size}\n".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> _Witness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TestWitnessedVerify:
    """``audit verify --witness-key``: which published checkpoints the witness never cosigned."""

    def test_every_checkpoint_cosigned(self, capsys, db_url, engine, key, tmp_path) -> None:
        """Checkpoints signed while the witness answers all carry its cosignature: verify says so."""
        witness = _Witness()
        try:
            cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
            cp.witness_url = witness.url
            for i in range(3):
                _append(engine, 10, 10 * i)
                cp.checkpoint()
            (tmp_path / "w.vkey").write_text(witness.key.encode() + "\n")
            code, out = _verify(capsys, db_url, tmp_path / "cps", key[2], "--witness-key", str(tmp_path / "w.vkey"))
        finally:
            witness.close()
        assert code == 0 and "witness witness.test/w1: all 3 checkpoints cosigned" in out, out

    def test_checkpoints_signed_while_the_witness_was_down(self, capsys, db_url, engine, key, tmp_path) -> None:
        """A checkpoint the witness never saw is named UNWITNESSED with its seq, and verify fails."""
        witness = _Witness()
        try:
            cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
            cp.witness_url = witness.url
            _append(engine, 10)
            cp.checkpoint()
            cp.witness_url = "http://127.0.0.1:1"  # the witness is unreachable for the second one
            _append(engine, 10, 10)
            cp.checkpoint()
            (tmp_path / "w.vkey").write_text(witness.key.encode() + "\n")
            code, out = _verify(capsys, db_url, tmp_path / "cps", key[2], "--witness-key", str(tmp_path / "w.vkey"))
        finally:
            witness.close()
        assert code != 0 and "UNWITNESSED at seq 20" in out and "UNWITNESSED at seq 10" not in out, out
        assert "1 of 2 checkpoints never cosigned" in out

    def test_a_cosignature_by_another_witness_does_not_count(self, capsys, db_url, engine, key, tmp_path) -> None:
        """The cosignature must verify under the named witness key; another key's is ignored."""
        witness, other = _Witness(), _Witness()
        try:
            cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
            cp.witness_url = witness.url
            _append(engine, 10)
            cp.checkpoint()
            (tmp_path / "w.vkey").write_text(other.key.encode() + "\n")
            code, out = _verify(capsys, db_url, tmp_path / "cps", key[2], "--witness-key", str(tmp_path / "w.vkey"))
        finally:
            witness.close()
            other.close()
        assert code != 0 and "UNWITNESSED at seq 10" in out


class TestTamperSuite:
    """Each tampering is reported with the right kind and seq against the published checkpoints."""

    def test_untouched_log_verifies(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """The untouched log and its checkpoints agree; the blind window is empty."""
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 0 and "checkpoints ok: 2 published, newest seq 300" in out
        assert "blind window: 0 events" in out

    @pytest.mark.parametrize("cut", [1, 100, N - 1])
    def test_tail_truncation(self, capsys, db_url, engine, signed, key, tmp_path, cut: int) -> None:
        """Cutting 1, 100 or all but one of the newest rows is a truncation naming the missing range."""
        _truncate(engine, N - cut)
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 1 and "chain ok" in out
        assert f"TRUNCATED at seq {N - cut + 1}: events {N - cut + 1}..{N} are missing" in out

    def test_rechaining_after_an_edit(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """An edit with every later hash recomputed verifies as a chain but is a rewrite at the checkpoint."""
        _rechain_from(engine, 150, '{"i":"forged"}')
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 1 and "chain ok" in out
        assert f"REWRITTEN at seq {N}: " in out and f"rows in 101..{N} were rewritten" in out

    def test_forged_row_at_the_head(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """The signed head row replaced by a well-formed forged one is a rewrite at its seq."""
        _rechain_from(engine, N, '{"i":"forged head"}')
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 1 and f"REWRITTEN at seq {N}" in out

    def test_rolled_back_checkpoint_table(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """Deleting the newest checkpoint row and the events it covered is caught by the published copy."""
        _unguard(engine, "checkpoints")
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM checkpoints WHERE seq > 100"))
        _truncate(engine, 100)
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 1
        assert f"ROLLED_BACK at seq {N}" in out and f"TRUNCATED at seq 101: events 101..{N}" in out

    def test_note_signed_by_another_key(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """A published note signed by another key is reported with its path and line."""
        other = sign_checkpoint(
            Checkpoint("test-origin", 5, "ab" * 32, "2026-12-02T19:00:00.000000Z"), generate_key("test-gw")
        )
        path = tmp_path / "cps" / "00000000000000000005.note"
        path.write_text(other)
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 1 and "BAD_NOTE at seq 0: not signed by key test-gw" in out and str(path) in out
        assert "(line 6)" in out

    def test_blind_window_is_undetectable(self, capsys, db_url, engine, signed, key, tmp_path) -> None:
        """What the suite cannot catch: a well-formed row appended after the newest checkpoint verifies."""
        _append(engine, 1, 10**6)  # the attacker's forged event, chained correctly at the head
        code, out = _verify(capsys, db_url, tmp_path / "cps", key[2])
        assert code == 0 and "blind window: 1 events after seq 300" in out


class TestStartUp:
    """The gateway refuses to serve a database behind its last published checkpoint."""

    def test_behind_is_refused_in_one_line(self, engine, signed, key, tmp_path) -> None:
        """A cut tail makes the start-up check refuse, naming the missing range."""
        _truncate(engine, 250)
        with pytest.raises(PreconditionFailed, match=r"refusing to serve.*events 251\.\.300 are missing") as err:
            check_not_behind(engine, tmp_path / "cps", key[0].verifier, override=False)
        assert len(str(err.value).splitlines()) == 1

    def test_override_serves_anyway(self, engine, signed, key, tmp_path) -> None:
        """The explicit override lets it start (and logs it)."""
        _truncate(engine, 250)
        check_not_behind(engine, tmp_path / "cps", key[0].verifier, override=True)

    def test_intact_log_starts(self, engine, signed, key, tmp_path) -> None:
        """An intact log at or past its last checkpoint starts."""
        _append(engine, 3, N)
        check_not_behind(engine, tmp_path / "cps", key[0].verifier, override=False)


class TestIncrementalVerify:
    """Verify starts from the last head it verified and signed itself; --full walks everything."""

    def test_second_run_walks_only_the_new_events(self, capsys, db_url, engine, key) -> None:
        """After a signed verified checkpoint, the next run walks only what came after it."""
        _append(engine, 50)
        assert main(["audit", "verify", "--db", db_url, "--workers", "1", "--signing-key", str(key[1])]) == 0
        assert "signed verified checkpoint at seq 50" in capsys.readouterr().out
        _append(engine, 7, 50)
        assert main(["audit", "verify", "--db", db_url, "--workers", "1", "--signing-key", str(key[1])]) == 0
        out = capsys.readouterr().out
        assert "incremental: walked seq 51..57" in out and "chain ok: 57 events" in out

    def test_full_walks_everything_and_finds_an_old_edit(self, capsys, db_url, engine, key) -> None:
        """An edit before the verified checkpoint is missed incrementally but found by --full."""
        _append(engine, 50)
        main(["audit", "verify", "--db", db_url, "--workers", "1", "--signing-key", str(key[1])])
        _unguard(engine, "audit_events")
        with engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'forged' WHERE seq = 10"))
        capsys.readouterr()
        assert main(["audit", "verify", "--db", db_url, "--workers", "1", "--signing-key", str(key[1]), "--full"]) == 1
        assert "CHAIN BROKEN at seq 10: row changed" in capsys.readouterr().out


class TestDecisionsState:
    """``--state``: the decisions table against the events, on a real gateway's rows."""

    def _decide(self, db_url: str, tmp_path: Path) -> list[str]:
        """Three decisions through the real use cases (an in-process gateway), then stopped."""
        import grpc

        from gateway.bootstrap import Settings, build_app
        from tests.conftest import ROOT, Client
        from tests.gateway.helpers import claim_request, decide

        policies = tmp_path / "policies"
        import shutil

        shutil.copytree(ROOT / "policies", policies)
        app = build_app(
            Settings(
                address="127.0.0.1:0",
                database_url=db_url,
                policy_dir=policies,
                principals_file=ROOT / "config" / "dev-principals.yaml",
            )
        )
        channel = grpc.insecure_channel(f"127.0.0.1:{app.port}")
        try:
            client = Client(channel, "")
            ids = [decide(client, claim_request(confidence=c)).decision_id for c in (0.99, 0.98, 0.80)]
        finally:
            channel.close()
            app.stop()
        return ids

    def test_untouched_state_is_ok(self, capsys, db_url, engine, tmp_path) -> None:
        """Rows written by the gateway say what their events say."""
        self._decide(db_url, tmp_path)
        assert main(["audit", "verify", "--db", db_url, "--workers", "1", "--state"]) == 0
        assert "state ok" in capsys.readouterr().out

    def test_decisions_edit_is_named_with_its_event(self, capsys, db_url, engine, tmp_path) -> None:
        """An edited final_outcome and route are reported with the decision and the seq of the event."""
        auto, _, held = self._decide(db_url, tmp_path)
        with engine.begin() as conn:
            conn.execute(text("UPDATE decisions SET final_outcome = 'deny' WHERE decision_id = :d"), {"d": auto})
            conn.execute(text("UPDATE decisions SET route = 'auto' WHERE decision_id = :d"), {"d": held})
            seq = conn.execute(
                text("SELECT seq FROM audit_events WHERE decision_id = :d AND type = 'decision_finalized'"), {"d": auto}
            ).scalar_one()
        capsys.readouterr()
        assert main(["audit", "verify", "--db", db_url, "--workers", "1", "--state"]) == 1
        out = capsys.readouterr().out
        assert (
            f"STATE MISMATCH decision {auto}: final_outcome is 'deny' in the decisions table, "
            f"the events say 'approve' (seq {seq})" in out
        )
        assert f"STATE MISMATCH decision {held}: route is 'auto'" in out
        assert main(["audit", "explain", auto, "--db", db_url]) == 0
        assert "STATE MISMATCH" in capsys.readouterr().out


def _ask(capsys: pytest.CaptureFixture[str], url: str, witness: str) -> tuple[int, str]:
    """Run ``signoff audit verify --witness URL`` and return its status and output."""
    code = main(["audit", "verify", "--db", url, "--workers", "1", "--witness", witness, "--witness-timeout", "5"])
    out, err = capsys.readouterr()
    return code, out + err


def _drop_checkpoints_after(engine: Engine, seq: int) -> None:
    """What an attacker with owner access does to the checkpoints table: every row after ``seq`` gone."""
    _unguard(engine, "checkpoints")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM checkpoints WHERE seq > :s"), {"s": seq})


class TestWitnessAsked:
    """``audit verify --witness URL``: the witness's own record of the log's end, asked online."""

    def _witnessed(self, engine: Engine, key, tmp_path: Path, witness: _Witness, batches: int = 2) -> Checkpointer:  # type: ignore[no-untyped-def]
        cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
        cp.witness_url = witness.url
        for i in range(batches):
            _append(engine, 10, 10 * i)
            cp.checkpoint()
        return cp

    def test_a_witness_within_the_head_is_ok(self, capsys, db_url, engine, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Witnessed at seq 20, ten events since: the witness holds 20, within the head; asking writes nothing."""
        with _Witness() as witness:
            self._witnessed(engine, key, tmp_path, witness)
            _append(engine, 10, 20)
            code, out = _ask(capsys, db_url, witness.url)
        assert code == 0 and "holds seq 20, within the database head (seq 30)" in out, out
        assert witness.seen[-1] == (20, 0, 409) and witness.size == 20

    def test_a_cut_tail_is_truncation_with_the_missing_range(self, capsys, db_url, engine, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """The insider deletes every event after seq 12 (and the checkpoint rows too): the witness still
        holds 20, so verify names events 13..20 as missing and fails, though the chain walk is ok."""
        with _Witness() as witness:
            self._witnessed(engine, key, tmp_path, witness)
            _truncate(engine, 12)
            _drop_checkpoints_after(engine, 12)
            code, out = _ask(capsys, db_url, witness.url)
        assert code == 1 and "chain ok: 12 events" in out, out
        assert "TRUNCATED at seq 13: witness" in out and "events 13..20 are missing" in out, out

    def test_a_rolled_back_checkpoints_table(self, capsys, db_url, engine, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Events intact, but the checkpoint at seq 20 deleted from the table: the witness holds 20,
        which the table lacks: ROLLED_BACK."""
        with _Witness() as witness:
            self._witnessed(engine, key, tmp_path, witness)
            _drop_checkpoints_after(engine, 10)
            code, out = _ask(capsys, db_url, witness.url)
        assert code == 1 and "ROLLED_BACK: witness" in out and "seq 20" in out, out

    def test_a_witness_that_never_saw_the_log(self, capsys, db_url, engine, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Checkpoints published while no witness was configured: the witness holds nothing; UNWITNESSED."""
        with _Witness() as witness:
            cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
            _append(engine, 10)
            cp.checkpoint()
            code, out = _ask(capsys, db_url, witness.url)
        assert code == 1 and "UNWITNESSED: witness" in out and "never saw this log" in out, out

    def test_a_witness_that_does_not_answer_is_one_line(self, capsys, db_url, engine, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
        """Nothing listens: exit 1 and the line says nothing was checked against it."""
        cp = Checkpointer(engine, key[0], tmp_path / "cps", "test-origin", every_events=10**9, every_seconds=10**9)
        _append(engine, 10)
        cp.checkpoint()
        code, out = _ask(capsys, db_url, "http://127.0.0.1:1")
        assert code == 1 and "did not answer" in out and "Traceback" not in out, out

    def test_a_witness_flag_that_is_not_an_http_url_is_one_line_before_any_walk(self, capsys, db_url) -> None:  # type: ignore[no-untyped-def]
        """A bare host name, or a timeout of 0: exit 2 with the flag named, and nothing walked."""
        assert main(["audit", "verify", "--db", db_url, "--witness", "witness.example"]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and "--witness: 'witness.example'" in err
        args = ["audit", "verify", "--db", db_url, "--witness", "http://127.0.0.1:1", "--witness-timeout", "0"]
        assert main(args) == 2 and "--witness-timeout" in capsys.readouterr().err
