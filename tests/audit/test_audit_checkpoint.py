"""Signed checkpoints: the C2SP signed-note format, keys, and every refusal with its line."""

from __future__ import annotations

import base64

import pytest

from audit.checkpoint import (
    Checkpoint,
    NoteError,
    SignerKey,
    VerifierKey,
    generate_key,
    parse_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)

# The published test vector of Go's golang.org/x/mod/sumdb/note (a fact, not code): the same
# key files and the same deterministic Ed25519 signature mean our notes interoperate.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = b"If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_SIG = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="

CP = Checkpoint("signoff.example/claims", 42, "ab" * 32, "2026-12-02T19:00:00.000000Z")


class TestKeys:
    """Key files in the Go sumdb/note forms."""

    def test_go_vector_key_ids_and_signature(self) -> None:
        """The Go test vector's keys parse, match each other, and sign to its exact signature."""
        signer = SignerKey.parse(GO_SIGNER)
        assert signer.verifier.encode() == GO_VERIFIER
        assert VerifierKey.parse(GO_VERIFIER) == signer.verifier
        sig = base64.b64encode(signer.verifier.id + signer.sign(GO_TEXT)).decode()
        assert sig == GO_SIG

    def test_round_trip_of_a_generated_key(self) -> None:
        """A generated key encodes and parses back to itself."""
        key = generate_key("gw-1")
        assert SignerKey.parse(key.encode()) == key
        assert VerifierKey.parse(key.verifier.encode()) == key.verifier

    def test_wrong_key_id_is_refused(self) -> None:
        """A verifier key whose id does not match its key names the file."""
        bad = GO_VERIFIER.replace("c74f20a3", "00000000")
        with pytest.raises(NoteError, match=r"^pub.key:1: key id does not match"):
            VerifierKey.parse(bad, "pub.key")

    def test_public_key_is_not_a_signing_key(self) -> None:
        """A verifier key given where the private key belongs is refused in one line."""
        with pytest.raises(NoteError, match="not a signing key"):
            SignerKey.parse(GO_VERIFIER, "k")

    def test_name_with_space_is_refused(self) -> None:
        """Key names follow the note rules: no spaces, no '+'."""
        with pytest.raises(ValueError, match="without spaces"):
            generate_key("a b")


class TestCheckpointNote:
    """Signing, parsing and verifying a checkpoint note."""

    def test_layout(self) -> None:
        """Origin, size, base64 root hash, time extension, blank line, one em-dash signature line."""
        key = generate_key("gw")
        lines = sign_checkpoint(CP, key).split("\n")
        root = base64.b64encode(bytes.fromhex(CP.root_hash)).decode()
        assert lines[:5] == ["signoff.example/claims", "42", root, "time 2026-12-02T19:00:00.000000Z", ""]
        assert lines[5].startswith("\u2014 gw ") and lines[6] == ""

    def test_verifies_under_its_key(self) -> None:
        """A note signed by the key verifies to the same checkpoint."""
        key = generate_key("gw")
        assert verify_checkpoint(sign_checkpoint(CP, key), key.verifier) == CP

    def test_other_key_is_refused_with_line(self) -> None:
        """A note signed by another key is reported with its path and the signature line."""
        note = sign_checkpoint(CP, generate_key("gw"))
        with pytest.raises(NoteError, match=r"^cp/42.note:6: not signed by key gw\+"):
            verify_checkpoint(note, generate_key("gw").verifier, "cp/42.note")

    def test_edited_size_fails_the_signature(self) -> None:
        """Changing the size after signing breaks the signature, reported at its line."""
        key = generate_key("gw")
        note = sign_checkpoint(CP, key).replace("\n42\n", "\n41\n", 1)
        with pytest.raises(NoteError, match=r":6: signature by gw does not verify"):
            verify_checkpoint(note, key.verifier, "f")

    @pytest.mark.parametrize(
        ("note", "line", "reason"),
        [
            ("o\n1\n", 3, "no blank line"),
            ("o\n01\nAAAA\n\n\u2014 k AAAAAAA=\n", 2, "not a decimal"),
            ("o\n1\n!!!\ntime 2026-12-02T19:00:00.000000Z\n\n\u2014 k AAAAAAA=\n", 3, "not base64"),
            ("o\n1\nAAAA\ntime 2026-12-02T19:00:00.000000Z\n\n\u2014 k AAAAAAA=\n", 3, "has 3 bytes"),
            (f"o\n1\n{'A' * 43}=\ntime yesterday\n\n\u2014 k AAAAAAA=\n", 4, "expected YYYY"),
            (f"o\n1\n{'A' * 43}=\n\n\u2014 k AAAAAAA=\n", 4, "no 'time'"),
            (f"o\n1\n{'A' * 43}=\ntime 2026-12-02T19:00:00.000000Z\n\n-- k AAAAAAA=\n", 6, "malformed signature"),
            (f"o\n1\n{'A' * 43}=\ntime 2026-12-02T19:00:00.000000Z\n\n\u2014 k AAAAAAA=", 6, "end with a newline"),
            (f"o p\n1\n{'A' * 43}=\ntime 2026-12-02T19:00:00.000000Z\n\n\u2014 k AAAAAAA=\n", 1, "origin"),
        ],
    )
    def test_malformed_notes_name_the_line(self, note: str, line: int, reason: str) -> None:
        """Each malformation is refused with the file, its line and what is wrong."""
        with pytest.raises(NoteError) as err:
            parse_checkpoint(note, "x.note")
        assert (err.value.source, err.value.line) == ("x.note", line)
        assert reason in err.value.reason

    def test_bad_checkpoint_is_not_signed(self) -> None:
        """A checkpoint with a non-hex hash is refused before signing."""
        with pytest.raises(ValueError, match="not a checkpoint"):
            sign_checkpoint(Checkpoint("o", 1, "zz", CP.time), generate_key("gw"))
