"""The auditor's queries and page tokens, run against every backend (SQLite; PostgreSQL when set)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from gateway.adapters import SqlStore
from gateway.adapters.audit_reader import SqlAuditReader
from gateway.errors import InvalidRequest
from gateway.reports.explain import check_events, load_trail
from gateway.review.model import Action, Correction, Status
from tests.adapters.test_sql_store_contract import T0, apply, decision, hold


def seed(store: SqlStore) -> None:
    """Ten decisions: four share one created_at (ties), with varied routes, reviewers, actions."""
    specs: list[dict[str, Any]] = [
        {"route": "auto", "queue": "", "status": Status.AUTO_DECIDED},
        {"route": "junior", "action": Action.APPROVE, "reviewer": "alice", "status": Status.HUMAN_DECIDED},
        {"route": "junior", "action": Action.OVERRIDE, "reviewer": "alice", "status": Status.HUMAN_DECIDED},
        {
            "route": "senior",
            "queue": "senior",
            "action": Action.EDIT,
            "reviewer": "bob",
            "status": Status.HUMAN_DECIDED,
        },
        {
            "route": "senior",
            "queue": "senior",
            "action": Action.REJECT,
            "reviewer": "bob",
            "status": Status.HUMAN_DECIDED,
        },
        {
            "route": "auto",
            "queue": "",
            "status": Status.AUTO_DECIDED,
            "sampled": True,
            "correction": Correction(
                outcome="deny", payload={}, action=Action.OVERRIDE, reviewer="carol", reason="fraud pattern", at=T0
            ),
        },
        {"route": "junior", "status": Status.PENDING_REVIEW},
        {"route": "junior", "status": Status.PENDING_REVIEW, "policy_version": 4},
        {"route": "auto", "queue": "", "status": Status.AUTO_DECIDED, "subject_ref": "subj-special"},
        {"route": "auto", "queue": "", "status": Status.AUTO_DECIDED, "decision_type": "content.moderation"},
    ]
    for n, spec in enumerate(specs):
        at = T0 + timedelta(seconds=max(0, n - 3))  # decisions 0..3 share created_at T0
        apply(store, hold(decision(f"{n:02d}", created_at=at, **spec)))


@pytest.fixture
def reader(store: SqlStore, engine: Engine) -> SqlAuditReader:
    """A reader over ten seeded decisions."""
    seed(store)
    return SqlAuditReader(engine)


def ids(page: Any) -> list[str]:
    """The decision ids of a page."""
    return [d.decision_id for d in page.items]


def all_pages(reader: SqlAuditReader, filters: dict[str, Any], size: int) -> list[str]:
    """Every decision id, following page tokens."""
    out: list[str] = []
    token = ""
    while True:
        page = reader.decision_page(filters, size, token)
        out += ids(page)
        token = page.next_page_token
        if not token:
            return out


class TestDecisionFilters:
    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"route": "senior"}, ["d-03", "d-04"]),
            ({"queue": "senior"}, ["d-03", "d-04"]),
            ({"reviewer": "alice"}, ["d-01", "d-02"]),
            ({"action": "override"}, ["d-02"]),
            ({"action": "REVIEW_ACTION_REJECT"}, ["d-04"]),
            ({"status": "pending_review"}, ["d-06", "d-07"]),
            ({"subject_ref": "subj-special"}, ["d-08"]),
            ({"decision_type": "content.moderation"}, ["d-09"]),
            ({"policy_name": "claims-triage", "policy_version": 4}, ["d-07"]),
            ({"decision_id": "d-05"}, ["d-05"]),
            ({"since": T0 + timedelta(seconds=5), "until": T0 + timedelta(seconds=6)}, ["d-08"]),
            ({"overridden": True}, ["d-02", "d-03", "d-05"]),
        ],
        ids=[
            "route",
            "queue",
            "reviewer",
            "action",
            "action-prefix",
            "status",
            "subject",
            "type",
            "policy-version",
            "decision-id",
            "time-range",
            "overridden",
        ],
    )
    def test_each_filter(self, reader: SqlAuditReader, filters: dict[str, Any], expected: list[str]) -> None:
        """Each filter selects exactly the decisions it names, in (created_at, id) order."""
        assert ids(reader.decision_page(filters)) == expected

    def test_not_overridden_is_the_complement(self, reader: SqlAuditReader) -> None:
        """overridden=False selects every decision no human edited, overrode or corrected."""
        got = ids(reader.decision_page({"overridden": False}))

        assert got == ["d-00", "d-01", "d-04", "d-06", "d-07", "d-08", "d-09"]

    def test_filters_combine_with_and(self, reader: SqlAuditReader) -> None:
        """Several filters narrow together."""
        assert ids(reader.decision_page({"route": "junior", "overridden": False, "status": "human_decided"})) == [
            "d-01"
        ]

    @pytest.mark.parametrize(("field", "value"), [("action", "MAYBE"), ("status", "NOPE")])
    def test_unknown_values_name_their_field(self, reader: SqlAuditReader, field: str, value: str) -> None:
        """An unknown action or status is InvalidRequest naming the field and the choices."""
        with pytest.raises(InvalidRequest, match=f"^{field}: '{value}' is not one of"):
            reader.decision_page({field: value})


class TestPageTokens:
    def test_pages_cover_everything_once_in_order(self, reader: SqlAuditReader) -> None:
        """Paging by 3 through ties on created_at yields every decision once, in order."""
        assert all_pages(reader, {}, 3) == [f"d-{n:02d}" for n in range(10)]

    def test_last_page_has_no_token(self, reader: SqlAuditReader) -> None:
        """A page that reaches the end carries an empty next_page_token."""
        assert reader.decision_page({}, 10).next_page_token == ""

    def test_rows_added_later_do_not_shift_pages(self, reader: SqlAuditReader, store: SqlStore) -> None:
        """A decision created after the first page was read appears after it, nothing repeats."""
        first = reader.decision_page({}, 4)
        apply(store, hold(decision("99", created_at=T0 + timedelta(hours=1))))

        rest = reader.decision_page({}, 100, first.next_page_token)

        assert ids(first) + ids(rest) == [*(f"d-{n:02d}" for n in range(10)), "d-99"]

    def test_token_of_another_query_is_refused(self, reader: SqlAuditReader) -> None:
        """A token only continues the query that issued it."""
        token = reader.decision_page({"route": "junior"}, 1).next_page_token

        with pytest.raises(InvalidRequest, match="^page_token: belongs to another query$"):
            reader.decision_page({"route": "senior"}, 1, token)

    def test_event_token_is_refused_for_decisions(self, reader: SqlAuditReader) -> None:
        """An events token is another query's token for the decision log."""
        token = reader.event_page({}, 1).next_page_token

        with pytest.raises(InvalidRequest, match="belongs to another query"):
            reader.decision_page({}, 1, token)

    @pytest.mark.parametrize("token", ["abc", "!!!", "eyJ2IjoxfQ"])
    def test_garbage_token_is_refused(self, reader: SqlAuditReader, token: str) -> None:
        """A token the gateway did not issue is InvalidRequest on page_token."""
        with pytest.raises(InvalidRequest, match="^page_token: is not a page token"):
            reader.decision_page({}, 1, token)

    def test_page_size_is_capped_and_defaulted(self, reader: SqlAuditReader) -> None:
        """0 means the default page size; a huge page size is lowered, not refused."""
        assert len(reader.decision_page({}, 0).items) == 10
        assert len(reader.decision_page({}, 10**6).items) == 10

    def test_negative_page_size_is_refused(self, reader: SqlAuditReader) -> None:
        """A negative page size is InvalidRequest on page_size."""
        with pytest.raises(InvalidRequest, match="^page_size:"):
            reader.decision_page({}, -1)


class TestEventPages:
    def test_pages_follow_seq(self, reader: SqlAuditReader) -> None:
        """Event pages of 4 walk the log in seq order without gaps."""
        seqs: list[int] = []
        token = ""
        while True:
            page = reader.event_page({}, 4, token)
            seqs += [e.seq for e in page.items]
            token = page.next_page_token
            if not token:
                break

        assert seqs == list(range(1, 11))

    def test_filters(self, reader: SqlAuditReader) -> None:
        """Events filter by decision, type, actor, policy version and time."""
        got = reader.event_page(
            {
                "decision_id": "d-03",
                "types": ("decision_received",),
                "actor": "claims-svc",
                "policy_name": "claims-triage",
                "policy_version": 3,
                "since": T0,
            }
        )

        assert [e.decision_id for e in got.items] == ["d-03"]

    def test_token_of_other_types_is_refused(self, reader: SqlAuditReader) -> None:
        """Changing the event filters invalidates the token."""
        token = reader.event_page({"types": ("decision_received",)}, 1).next_page_token

        with pytest.raises(InvalidRequest, match="belongs to another query"):
            reader.event_page({"types": ("routed",)}, 1, token)


class TestTrailVerification:
    """A decision's events are checked in place, without a full chain walk."""

    def test_untouched_events_verify(self, reader: SqlAuditReader, engine: Engine) -> None:
        """A decision's events recompute and link to their neighbours."""
        with engine.connect() as conn:
            events = list(reader.log.iter_events(conn, decision_id="d-04"))
            assert check_events(conn, events)

    def test_trail_names_the_decision_and_verdict(self, reader: SqlAuditReader, engine: Engine) -> None:
        """The reader's trail, through the injected loader, carries the decision and its check."""
        trail = SqlAuditReader(engine, load_trail).trail("d-04")

        assert trail["decision_id"] == "d-04" and trail["chain"]["verified"] is True

    def test_an_edited_event_fails(self, reader: SqlAuditReader, engine: Engine) -> None:
        """An event edited in place by the schema owner (trigger dropped first) no longer verifies."""
        drop = {  # the update-refusing trigger of each backend (migration 0001)
            "sqlite": "DROP TRIGGER audit_events_no_update",
            "postgresql": "DROP TRIGGER audit_events_no_update_delete ON audit_events",
        }[engine.dialect.name]
        with engine.begin() as conn:
            conn.execute(text(drop))
            conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 5"))
        reader = SqlAuditReader(engine, load_trail)  # the seeded log, read through the real loader

        assert reader.trail("d-04")["chain"]["verified"] is False
        assert reader.trail("d-03")["chain"]["verified"] is True
