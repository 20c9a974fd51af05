"""QueryDecisions, ListEvents and ExplainDecision on a real gateway over a real SQLite file."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import text

from gateway.adapters import make_engine
from signoff.v1 import audit_pb2, decision_pb2
from tests.conftest import auth
from tests.gateway.helpers import claim, claim_request, decide, submit


def _error(fn: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as err:
        fn()
    return err.value


@pytest.fixture
def day(client: Any) -> dict[str, list[str]]:
    """Three automatic and three held decisions; alice overrides one and approves another."""
    auto = [decide(client, claim_request(confidence=0.97)).decision_id for _ in range(3)]
    held = [decide(client, claim_request(confidence=0.8)).decision_id for _ in range(3)]
    first = claim(client, "junior", "alice")
    submit(client, first.task.task_id, "alice", "override", outcome="deny", reason="receipt missing")
    second = claim(client, "junior", "alice")
    submit(client, second.task.task_id, "alice", "approve")
    return {
        "auto": auto,
        "held": held,
        "overridden": [first.decision.decision_id],
        "approved": [second.decision.decision_id],
    }


def query(client: Any, who: str = "carol", **fields: Any) -> audit_pb2.QueryDecisionsResponse:
    """QueryDecisions as ``who``."""
    return client.audit.QueryDecisions(audit_pb2.QueryDecisionsRequest(**fields), metadata=auth(who), timeout=10)


class TestQueryDecisions:
    def test_filters_by_route(self, client: Any, day: dict[str, list[str]]) -> None:
        """route=junior returns the held decisions, oldest first."""
        got = [d.decision_id for d in query(client, route="junior").decisions]

        assert got == day["held"]

    def test_overridden_true(self, client: Any, day: dict[str, list[str]]) -> None:
        """overridden=true returns what a human changed."""
        got = query(client, overridden=True).decisions

        assert [d.decision_id for d in got] == day["overridden"]
        assert got[0].action == decision_pb2.REVIEW_ACTION_OVERRIDE and got[0].reviewer == "alice"

    def test_overridden_false_and_reviewer(self, client: Any, day: dict[str, list[str]]) -> None:
        """overridden=false with reviewer=alice returns her approval only."""
        got = query(client, overridden=False, reviewer="alice").decisions

        assert [d.decision_id for d in got] == day["approved"]

    def test_pages_walk_everything(self, client: Any, day: dict[str, list[str]]) -> None:
        """page_size 4 gives two pages; together they hold all six decisions once."""
        first = query(client, page_size=4)
        second = query(client, page_size=4, page_token=first.next_page_token)

        ids = [d.decision_id for d in [*first.decisions, *second.decisions]]
        assert len(first.decisions) == 4 and second.next_page_token == ""
        assert sorted(ids) == sorted(day["auto"] + day["held"]) and len(set(ids)) == 6

    def test_time_range(self, client: Any, day: dict[str, list[str]]) -> None:
        """A range ending at the first held decision's creation returns only the automatic ones."""
        first_held = query(client, decision_id=day["held"][0]).decisions[0]

        got = query(client, until=first_held.created_at).decisions

        assert [d.decision_id for d in got] == day["auto"]

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"action": "MAYBE"}, "action"),
            ({"status": "NOPE"}, "status"),
            ({"page_size": -1}, "page_size"),
            ({"policy_version": -2}, "policy_version"),
            ({"page_token": "not-a-token"}, "page_token"),
            ({"since": timestamp_pb2.Timestamp(seconds=2**40)}, "since"),
        ],
        ids=["action", "status", "page-size", "policy-version", "page-token", "time"],
    )
    def test_bad_input_names_the_field(self, client: Any, fields: dict[str, Any], field: str) -> None:
        """Unknown values, negative sizes, foreign tokens and bad times are INVALID_ARGUMENT."""
        err = _error(lambda: query(client, **fields))

        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.details().startswith(f"{field}:")

    def test_token_of_another_query(self, client: Any, day: dict[str, list[str]]) -> None:
        """A token replayed with other filters is refused."""
        token = query(client, page_size=1).next_page_token

        err = _error(lambda: query(client, page_size=1, route="auto", page_token=token))

        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.details() == "page_token: belongs to another query"

    @pytest.mark.parametrize("who", ["caller", "alice", "bob"])
    def test_only_auditors(self, client: Any, who: str) -> None:
        """Callers and reviewers cannot query the decision log."""
        assert _error(lambda: query(client, who=who)).code() == grpc.StatusCode.PERMISSION_DENIED

    def test_database_gone_is_unavailable(self, client: Any, gateway: Any, db_url: str) -> None:
        """When the database cannot answer, the query is UNAVAILABLE."""
        engine = make_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE decisions RENAME TO decisions_gone"))
        engine.dispose()

        assert _error(lambda: query(client)).code() == grpc.StatusCode.UNAVAILABLE


class TestListEvents:
    def test_pages_in_seq_order(self, client: Any, day: dict[str, list[str]]) -> None:
        """Pages of 5 events cover the log in seq order, with no repeats."""
        seqs: list[int] = []
        token = ""
        while True:
            resp = client.audit.ListEvents(
                audit_pb2.ListEventsRequest(page_size=5, page_token=token), metadata=auth("carol"), timeout=10
            )
            seqs += [e.seq for e in resp.events]
            token = resp.next_page_token
            if not token:
                break

        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) > 10

    def test_filters_by_type_and_actor(self, client: Any, day: dict[str, list[str]]) -> None:
        """review_submitted events by alice: the two sign-offs."""
        resp = client.audit.ListEvents(
            audit_pb2.ListEventsRequest(types=["review_submitted"], actor="alice"), metadata=auth("carol"), timeout=10
        )

        assert [e.decision_id for e in resp.events] == day["overridden"] + day["approved"]

    def test_caller_is_refused(self, client: Any) -> None:
        """A caller token cannot read the event log."""
        err = _error(
            lambda: client.audit.ListEvents(audit_pb2.ListEventsRequest(), metadata=auth("caller"), timeout=10)
        )

        assert err.code() == grpc.StatusCode.PERMISSION_DENIED


class TestAuditorStaysInRole:
    @pytest.mark.parametrize("queue", ["junior", "senior"])
    def test_auditor_cannot_claim_review_work(self, client: Any, queue: str) -> None:
        """An auditor token cannot take a reviewer's task."""
        decide(client, claim_request(confidence=0.8 if queue == "junior" else 0.5))

        assert _error(lambda: claim(client, queue, "carol")).code() == grpc.StatusCode.PERMISSION_DENIED


class TestExplainDecision:
    def test_trail_is_json_for_auditors(self, client: Any, day: dict[str, list[str]]) -> None:
        """ExplainDecision returns the trail as a JSON document."""
        decision_id = day["overridden"][0]

        resp = client.audit.ExplainDecision(
            audit_pb2.ExplainDecisionRequest(decision_id=decision_id), metadata=auth("carol"), timeout=10
        )

        assert json.loads(resp.trail_json)["decision_id"] == decision_id

    def test_unknown_decision_is_not_found(self, client: Any) -> None:
        """A decision the log never saw is NOT_FOUND."""
        req = audit_pb2.ExplainDecisionRequest(decision_id="no-such-decision")

        err = _error(lambda: client.audit.ExplainDecision(req, metadata=auth("carol"), timeout=10))

        assert err.code() == grpc.StatusCode.NOT_FOUND

    def test_missing_id_is_invalid(self, client: Any) -> None:
        """An empty decision id is INVALID_ARGUMENT naming decision_id."""
        err = _error(
            lambda: client.audit.ExplainDecision(audit_pb2.ExplainDecisionRequest(), metadata=auth("carol"), timeout=10)
        )

        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and err.details().startswith("decision_id:")

    def test_caller_is_refused(self, client: Any) -> None:
        """A caller token cannot read a trail."""
        req = audit_pb2.ExplainDecisionRequest(decision_id="x")

        err = _error(lambda: client.audit.ExplainDecision(req, metadata=auth("caller"), timeout=10))

        assert err.code() == grpc.StatusCode.PERMISSION_DENIED
