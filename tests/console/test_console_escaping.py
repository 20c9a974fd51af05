"""Every text a caller or reviewer supplied is escaped: ``<script>`` and attribute-breaking
strings in input fields, subject, explanation, reasons, filters and outcomes."""

from __future__ import annotations

from typing import Any

from tests.console.conftest import csrf_of
from tests.console.helpers import held, task_id_of

SCRIPT = "<script>alert('x')</script>"
ATTR = '"><img src=x onerror=alert(1)>'
ATTR_SQ = "' autofocus onfocus='alert(2)"


def _hostile(grpc_client: Any) -> Any:
    return held(grpc_client, subject=ATTR, explanation=SCRIPT, note=ATTR_SQ, **{SCRIPT: "key as well"})


def _assert_escaped(page: str) -> None:
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "' autofocus onfocus='" not in page


class TestEscaping:
    """Autoescaped templates: the raw strings never reach the HTML as markup."""

    def test_the_case_view_escapes_input_subject_and_explanation(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The reviewer's case view shows hostile input as text."""
        _hostile(grpc_client)
        c = http_as("alice")
        r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
        page = c.get(r.headers["location"]).text
        _assert_escaped(page)
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page

    def test_a_refused_submit_escapes_the_echoed_reason_and_payload(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A form sent back with an error keeps hostile reason and payload as inert text."""
        held(grpc_client)
        c = http_as("alice")
        r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
        task_id = task_id_of(r.headers["location"])
        page = c.post(
            f"/tasks/{task_id}/submit",
            data={
                "csrf": csrf_of(c.get(f"/tasks/{task_id}").text),
                "action": "edit",
                "reason": ATTR,
                "payload": SCRIPT,
                "outcome": ATTR_SQ,
            },
        ).text
        assert "payload: must be a JSON object" in page
        _assert_escaped(page)

    def test_the_trail_escapes_a_hostile_reason_and_subject(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """An auditor's trail view of a hostile case and a hostile sign-off reason is inert."""
        d = _hostile(grpc_client)
        c = http_as("alice")
        r = c.post("/queues/junior/claim", data={"csrf": csrf_of(c.get("/queues/junior").text)})
        task_id = task_id_of(r.headers["location"])
        done = c.post(
            f"/tasks/{task_id}/submit",
            data={"csrf": csrf_of(c.get(f"/tasks/{task_id}").text), "action": "reject", "reason": ATTR + SCRIPT},
        )
        assert done.status_code == 303
        trail = http_as("carol").get(f"/audit/decisions/{d.decision_id}").text
        _assert_escaped(trail)
        assert "Reason: &#34;&gt;&lt;img" in trail

    def test_search_filters_are_escaped_when_echoed(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """Hostile filter values come back in the form and the next-page link as text."""
        page = (
            http_as("carol")
            .get("/audit/decisions", params={"subject": ATTR, "reviewer": SCRIPT, "queue": ATTR_SQ})
            .text
        )
        _assert_escaped(page)
        assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page

    def test_every_page_forbids_inline_script(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """The CSP allows scripts only from the console's own files, a second line of defence."""
        r = http_as("carol").get("/audit/decisions")
        assert "script-src 'self'" in r.headers["content-security-policy"]
