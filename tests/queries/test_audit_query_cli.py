"""`signoff audit query decisions|events` against a real gateway: formats, pages and bad input."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from gateway.cli import main
from tests.gateway.helpers import claim_request, decide


@pytest.fixture
def run(client: Any, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run `signoff audit query ...` with an auditor token; returns (exit, stdout, stderr)."""

    def go(*args: str, token: str = "dev-carol-token") -> tuple[int, str, str]:
        code = main(["audit", "query", *args, "--address", client.address, "--token", token])
        out, err = capsys.readouterr()
        return code, out, err

    return go


@pytest.fixture
def five(client: Any) -> list[str]:
    """Five decisions: three automatic, two held for the junior queue."""
    return [decide(client, claim_request(confidence=c)).decision_id for c in (0.97, 0.8, 0.97, 0.8, 0.97)]


class TestFormats:
    def test_table_has_a_header_and_a_row_each(self, run: Any, five: list[str]) -> None:
        """The table prints a header line then one line per decision."""
        code, out, _ = run("decisions")

        lines = out.splitlines()
        assert code == 0 and lines[0].startswith("created_at") and len(lines) == 6

    def test_jsonl_is_the_api_json(self, run: Any, five: list[str]) -> None:
        """Each JSON line is one decision with the proto field names."""
        code, out, _ = run("decisions", "--format", "jsonl", "--route", "junior")

        rows = [json.loads(line) for line in out.splitlines()]
        assert code == 0 and [r["decision_id"] for r in rows] == [five[1], five[3]]

    def test_csv_has_flat_columns(self, run: Any, five: list[str]) -> None:
        """CSV has one header and flat columns, overridden among them."""
        code, out, _ = run("decisions", "--format", "csv", "--route", "auto")

        rows = list(csv.DictReader(io.StringIO(out)))
        assert code == 0 and [r["decision_id"] for r in rows] == [five[0], five[2], five[4]]
        assert {r["overridden"] for r in rows} == {"false"} and rows[0]["policy_name"] == "claims-triage"

    def test_events_csv(self, run: Any, five: list[str]) -> None:
        """Events come as CSV rows in seq order, filtered by type."""
        code, out, _ = run("events", "--format", "csv", "--type", "routed")

        rows = list(csv.DictReader(io.StringIO(out)))
        assert code == 0 and [r["decision_id"] for r in rows] == five
        assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)


class TestPaging:
    def test_one_page_then_the_token_on_stderr(self, run: Any, five: list[str]) -> None:
        """Without --all one page prints, and the next page's token goes to stderr."""
        code, out, err = run("decisions", "--format", "jsonl", "--page-size", "2")

        assert code == 0 and len(out.splitlines()) == 2 and "--page-token " in err

    def test_the_token_continues(self, run: Any, five: list[str]) -> None:
        """Passing the printed token returns the next page."""
        _, _, err = run("decisions", "--format", "jsonl", "--page-size", "2")
        token = err.split("--page-token ")[1].split()[0]

        code, out, _ = run("decisions", "--format", "jsonl", "--page-size", "2", "--page-token", token)

        assert code == 0 and [json.loads(x)["decision_id"] for x in out.splitlines()] == five[2:4]

    def test_all_follows_every_page(self, run: Any, five: list[str]) -> None:
        """--all walks every page and prints no token."""
        code, out, err = run("decisions", "--format", "jsonl", "--page-size", "2", "--all")

        assert code == 0 and [json.loads(x)["decision_id"] for x in out.splitlines()] == five and err == ""


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (["decisions", "--from", "yesterday"], "--from: 'yesterday' is not an ISO-8601 time"),
            (["events", "--to", "2026-13-45"], "--to: '2026-13-45' is not an ISO-8601 time"),
            (["decisions", "--policy", "claims-triage@x"], "--policy:"),
            (["decisions", "--action", "maybe"], "INVALID_ARGUMENT: action: 'maybe' is not one of"),
            (["decisions", "--status", "nope"], "INVALID_ARGUMENT: status: 'nope' is not one of"),
            (["decisions", "--page-token", "garbage"], "INVALID_ARGUMENT: page_token:"),
        ],
        ids=["from", "to", "policy", "action", "status", "token"],
    )
    def test_one_line_and_non_zero_exit(self, run: Any, args: list[str], expected: str) -> None:
        """Bad input prints one line on stderr naming the flag or field, and exits non-zero."""
        code, out, err = run(*args)

        assert code != 0 and out == "" and len(err.splitlines()) == 1 and expected in err

    def test_caller_token_is_refused(self, run: Any) -> None:
        """A caller token cannot query the log: PERMISSION_DENIED, exit 1."""
        code, _, err = run("decisions", token="dev-caller-token")

        assert code == 1 and err.startswith("signoff: PERMISSION_DENIED")

    def test_unreachable_gateway(self, capsys: pytest.CaptureFixture[str]) -> None:
        """No gateway at the address: one line, exit 1."""
        code = main(["audit", "query", "events", "--address", "127.0.0.1:1", "--token", "t", "--timeout", "3"])

        err = capsys.readouterr().err
        assert code == 1 and len(err.splitlines()) == 1 and "UNAVAILABLE" in err
