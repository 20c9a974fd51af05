"""The README's command-line walk-through, run against a real gateway."""

from __future__ import annotations

import json

import pytest

from gateway.cli import main as cli


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = cli(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


class TestWalkThrough:
    """decide, claim, submit, watch, stats and tail from a terminal."""

    def test_decide_claim_submit(self, client, capsys):
        """A held claim is claimed and overridden by a junior adjuster, and the stats show it."""
        addr = ("--address", client.address)
        code, out, _ = _run(
            capsys,
            "decide",
            "claims.payout",
            "--input",
            '{"amount": 1800, "claim_type": "auto"}',
            "--proposal",
            '{"outcome": "approve", "confidence": 0.81}',
            "--json",
            "--token",
            "dev-caller-token",
            *addr,
        )
        decision = json.loads(out)
        assert code == 0 and decision["status"] == "DECISION_STATUS_PENDING_REVIEW"
        code, out, _ = _run(capsys, "review", "claim", "junior", "--json", "--token", "dev-alice-token", *addr)
        task_id = json.loads(out)["task"]["task_id"]
        code, out, _ = _run(
            capsys,
            "review",
            "submit",
            task_id,
            "--action",
            "override",
            "--outcome",
            "partial",
            "--reason",
            "glass cover only",
            "--token",
            "dev-alice-token",
            *addr,
        )
        assert code == 0 and "partial (OVERRIDE by alice)" in out
        code, out, _ = _run(capsys, "watch", decision["decision_id"], "--token", "dev-caller-token", *addr)
        assert code == 0 and out.strip().endswith("reviewer=alice")
        code, out, _ = _run(capsys, "audit", "stats", "--group-by", "queue", "--token", "dev-carol-token", *addr)
        assert code == 0 and "junior" in out and "100.0" in out
        code, out, _ = _run(
            capsys, "audit", "tail", "--decision", decision["decision_id"], "--token", "dev-carol-token", *addr
        )
        assert [line.split()[2] for line in out.splitlines()] == [
            "decision_received",
            "routed",
            "review_claimed",
            "review_submitted",
            "decision_finalized",
        ]

    def test_empty_queue_exits_3(self, client, capsys):
        """Claiming from an empty queue says so and exits 3."""
        code, _, err = _run(
            capsys, "review", "claim", "senior", "--token", "dev-bob-token", "--address", client.address
        )
        assert code == 3 and "empty" in err


class TestCommandLineErrors:
    """Bad input is one line on stderr and a non-zero exit, never a traceback."""

    @pytest.mark.parametrize(
        ("argv", "needle"),
        [
            (
                ["decide", "claims.payout", "--input", "{bad", "--proposal", "{}", "--token", "t"],
                "--input: not valid JSON",
            ),
            (
                ["decide", "claims.payout", "--input", "[]", "--proposal", "{}", "--token", "t"],
                "--input: must be a JSON object",
            ),
            (
                ["decide", "claims.payout", "--input", "{}", "--proposal", '{"confidenc": 1}', "--token", "t"],
                "unknown field",
            ),
            (["review", "submit", "t1", "--action", "maybe", "--token", "t"], "invalid choice"),
            (["review", "list", "junior"], "no token"),
            (["nonsense"], "invalid choice"),
        ],
    )
    def test_usage_errors(self, capsys, monkeypatch, argv, needle):
        """Each mistake names itself in one line."""
        monkeypatch.delenv("SIGNOFF_TOKEN", raising=False)
        code, _, err = _run(capsys, *argv)
        assert code != 0 and needle in err and len(err.strip().splitlines()) == 1

    def test_gateway_error_is_one_line(self, client, capsys):
        """A refused RPC prints its status and detail in one line and exits 1."""
        code, _, err = _run(
            capsys,
            "decide",
            "claims.payout",
            "--input",
            '{"amount": -1, "claim_type": "auto"}',
            "--proposal",
            '{"outcome": "approve", "confidence": 0.9}',
            "--token",
            "dev-caller-token",
            "--address",
            client.address,
        )
        assert code == 1 and err.startswith("signoff: INVALID_ARGUMENT: input.amount") and len(err.splitlines()) == 1

    def test_no_gateway_is_one_line(self, capsys):
        """An unreachable gateway is UNAVAILABLE in one line."""
        code, _, err = _run(
            capsys, "review", "list", "junior", "--token", "t", "--address", "127.0.0.1:1", "--timeout", "2"
        )
        assert code == 1 and "UNAVAILABLE" in err and len(err.splitlines()) == 1

    def test_serve_with_missing_principals_is_one_line(self, capsys, tmp_path):
        """A gateway that cannot start says why in one line."""
        code, _, err = _run(
            capsys,
            "serve",
            "--principals",
            str(tmp_path / "none.yaml"),
            "--db",
            f"sqlite:///{tmp_path}/x.db",
            "--address",
            "127.0.0.1:0",
        )
        assert code == 1 and "cannot read principals file" in err and len(err.splitlines()) == 1
