"""The reviewer's flow through the console without JavaScript: queue, claim, case, sign-off."""

from __future__ import annotations

import html
import json
import time
from typing import Any

import grpc

from signoff.v1 import decision_pb2
from tests.conftest import auth
from tests.console.conftest import csrf_of
from tests.console.helpers import held, task_id_of
from tests.gateway.helpers import claim


def _claim(c: Any, queue: str = "junior") -> str:
    r = c.post(f"/queues/{queue}/claim", data={"csrf": csrf_of(c.get(f"/queues/{queue}").text)})
    assert r.status_code == 303, r.text
    return task_id_of(r.headers["location"])


class TestQueuePages:
    """The start page and a queue page."""

    def test_the_start_page_lists_the_reviewers_queues_with_depth(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """alice sees the junior queue with one task waiting, and not the senior queue."""
        held(grpc_client)
        page = http_as("alice").get("/").text
        assert 'href="/queues/junior"' in page and 'href="/queues/senior"' not in page
        assert "<td>1</td>" in page

    def test_an_empty_queue_says_so(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """Claiming from an empty queue shows a message, not an error."""
        c = http_as("alice")
        r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
        assert r.status_code == 200 and "No task is waiting" in r.text


class TestClaimAndSubmit:
    """Claim, read the case, sign off; the caller sees it."""

    def test_an_override_with_a_reason_finalizes_and_the_caller_sees_it(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The override posted from the form is the decision the caller's GetDecision returns."""
        d = held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        case = c.get(f"/tasks/{task_id}").text
        assert d.decision_id in case and "similar claims paid" in case and "review_band" in case
        r = c.post(
            f"/tasks/{task_id}/submit",
            data={
                "csrf": csrf_of(case),
                "action": "override",
                "outcome": "partial",
                "reason": "glass cover only",
                "active_ms": "4200",
            },
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/queues/junior?done=")
        got = grpc_client.decisions.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=10
        ).decision
        assert got.status == decision_pb2.DECISION_STATUS_HUMAN_DECIDED and got.final_outcome == "partial"

    def test_the_active_time_is_recorded_with_the_sign_off(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """active_ms from the page becomes active_seconds in the review_submitted event, shown in the trail."""
        from signoff.v1 import audit_pb2

        d = held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        c.post(
            f"/tasks/{task_id}/submit",
            data={"csrf": csrf_of(c.get(f"/tasks/{task_id}").text), "action": "approve", "active_ms": "4200"},
        )
        events = grpc_client.audit.ListEvents(
            audit_pb2.ListEventsRequest(decision_id=d.decision_id, types=["review_submitted"]),
            metadata=auth("carol"),
            timeout=10,
        ).events
        assert [json.loads(e.body_json)["active_seconds"] for e in events] == [4.2]
        assert "Active time on task: 4.2 s" in http_as("carol").get(f"/audit/decisions/{d.decision_id}").text

    def test_without_javascript_no_active_time_is_claimed(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A form posted without active_ms records no active_seconds at all (unknown, not zero)."""
        from signoff.v1 import audit_pb2

        d = held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        c.post(f"/tasks/{task_id}/submit", data={"csrf": csrf_of(c.get(f"/tasks/{task_id}").text), "action": "approve"})
        events = grpc_client.audit.ListEvents(
            audit_pb2.ListEventsRequest(decision_id=d.decision_id, types=["review_submitted"]),
            metadata=auth("carol"),
            timeout=10,
        ).events
        assert len(events) == 1 and "active_seconds" not in json.loads(events[0].body_json)

    def test_a_missing_reason_keeps_what_was_typed(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """An override without a reason is 400 naming the field, with the chosen outcome kept."""
        held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        r = c.post(
            f"/tasks/{task_id}/submit",
            data={
                "csrf": csrf_of(c.get(f"/tasks/{task_id}").text),
                "action": "override",
                "outcome": "deny",
                "reason": "",
            },
        )
        assert r.status_code == 400 and "reason: OVERRIDE needs a reason" in r.text
        assert '<option value="deny" selected>' in r.text

    def test_a_double_submit_shows_the_case_as_it_stands(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The second submit of one task (two tabs) is 409 with a message and the final outcome."""
        held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        token = csrf_of(c.get(f"/tasks/{task_id}").text)
        first = c.post(f"/tasks/{task_id}/submit", data={"csrf": token, "action": "approve"})
        second = c.post(f"/tasks/{task_id}/submit", data={"csrf": token, "action": "reject", "reason": "x"})
        assert first.status_code == 303
        assert second.status_code == 409 and "already submitted" in second.text
        assert "HUMAN_DECIDED" in second.text and "<strong>approve</strong>" in second.text

    def test_a_submit_after_the_lease_lapsed_is_refused_clearly(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A sign-off after the lease ended is 409 saying so, and nothing is recorded."""
        d = held(grpc_client)
        task = claim(grpc_client, "junior", "alice", lease=0.5).task
        c = http_as("alice")
        token = csrf_of(c.get(f"/tasks/{task.task_id}").text)
        time.sleep(0.7)  # let the half-second lease lapse (a wait, not a timed assertion)
        r = c.post(f"/tasks/{task.task_id}/submit", data={"csrf": token, "action": "approve"})
        assert r.status_code == 409 and ("lease" in r.text or "not claimed" in r.text)
        got = grpc_client.decisions.GetDecision(
            decision_pb2.GetDecisionRequest(decision_id=d.decision_id), metadata=auth("caller"), timeout=10
        ).decision
        assert got.status != decision_pb2.DECISION_STATUS_HUMAN_DECIDED

    def test_renew_extends_the_lease_and_is_logged(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A renew moves the lease end later and records lease_renewed by the reviewer."""
        from signoff.v1 import audit_pb2

        d = held(grpc_client)
        task = claim(grpc_client, "junior", "alice", lease=60).task
        c = http_as("alice")
        r = c.post(f"/tasks/{task.task_id}/renew", data={"csrf": csrf_of(c.get(f"/tasks/{task.task_id}").text)})
        assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task.task_id}"
        events = grpc_client.audit.ListEvents(
            audit_pb2.ListEventsRequest(decision_id=d.decision_id, types=["lease_renewed"]),
            metadata=auth("carol"),
            timeout=10,
        ).events
        assert [e.actor for e in events] == ["alice"]
        renewed_until = json.loads(events[0].body_json)["lease_expires_at"]
        assert renewed_until > task.lease_expires_at.ToDatetime().isoformat()

    def test_renew_by_someone_else_is_refused(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """erin cannot renew alice's lease: a 409 page saying whose it is."""
        held(grpc_client)
        task = claim(grpc_client, "junior", "alice").task
        c = http_as("erin")
        r = c.post(f"/tasks/{task.task_id}/renew", data={"csrf": csrf_of(c.get("/").text)})
        assert r.status_code == 409 and "not claimed by erin" in r.text

    def test_release_hands_the_task_back(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A released task can be claimed again by someone else."""
        held(grpc_client)
        c = http_as("alice")
        task_id = _claim(c)
        r = c.post(f"/tasks/{task_id}/release", data={"csrf": csrf_of(c.get(f"/tasks/{task_id}").text)})
        assert r.status_code == 303
        again = claim(grpc_client, "junior", "erin")
        assert again.task.task_id == task_id


class TestNotYours:
    """Tasks that do not exist or belong to someone else."""

    def test_an_unknown_task_is_404_without_internals(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """A made-up task id is a 404 page."""
        r = http_as("alice").get("/tasks/00000000-0000-4000-8000-000000000000")
        assert r.status_code == 404 and "Not found" in r.text and "Traceback" not in r.text

    def test_another_reviewers_task_is_403(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """erin cannot open the task alice holds."""
        held(grpc_client)
        task_id = _claim(http_as("alice"))
        r = http_as("erin").get(f"/tasks/{task_id}")
        assert r.status_code == 403 and "not claimed by erin" in r.text

    def test_a_queue_not_yours_is_403(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """alice (junior) cannot open the senior queue."""
        r = http_as("alice").get("/queues/senior")
        assert r.status_code == 403 and "may not review from queue 'senior'" in html.unescape(r.text)

    def test_an_unknown_page_is_404(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """A URL the console does not serve is a readable 404."""
        r = http_as("alice").get("/no/such/page")
        assert r.status_code == 404 and "There is no page at this address." in r.text

    def test_a_caller_token_cannot_claim(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """claims-service signs in but gets 403 on the reviewer pages and claims nothing."""
        held(grpc_client)
        c = http_as("caller")
        assert c.get("/queues/junior").status_code == 403
        r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/").text)})
        assert r.status_code == 403
        with_grpc = claim(grpc_client, "junior", "alice")
        assert with_grpc.task.task_id  # still there for a real reviewer

    def test_grpc_status_for_the_same_refusal(self, grpc_client) -> None:
        """The same caller gets PERMISSION_DENIED from ClaimNext (one table, two doors)."""
        try:
            claim(grpc_client, "junior", "caller")
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.PERMISSION_DENIED
        else:
            raise AssertionError("a caller claimed a task")
