"""The auditor's pages over real HTTP: search, trail with chain status, report, policy versions."""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

from tests.console.helpers import held


class TestDecisionSearch:
    """GET /audit/decisions with QueryDecisions' filters."""

    def test_an_auditor_finds_a_decision_by_subject(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """The subject filter returns that decision and links its trail."""
        d = held(grpc_client, subject="cust-find-me")
        held(grpc_client, subject="cust-other")
        page = http_as("carol").get("/audit/decisions", params={"subject": "cust-find-me"}).text
        assert f'href="/audit/decisions/{d.decision_id}"' in page and "cust-other" not in page
        assert "1 decision on this page" in page

    def test_filters_combine(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """route, status and overridden narrow the page like the gRPC filters do."""
        held(grpc_client, subject="s-a")
        page = (
            http_as("carol")
            .get(
                "/audit/decisions",
                params={"route": "junior", "status": "PENDING_REVIEW", "overridden": "no", "policy": "claims-triage@2"},
            )
            .text
        )
        assert "s-a" in page
        none = http_as("carol").get("/audit/decisions", params={"route": "senior"}).text
        assert "No decision matches these filters." in none

    def test_a_malformed_time_names_its_field(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """A bad from is a 400 page naming the field, with the form kept."""
        r = http_as("carol").get("/audit/decisions", params={"from": "yesterday", "subject": "kept"})
        assert r.status_code == 400 and "from: 'yesterday' is not an ISO-8601" in html.unescape(r.text)
        assert 'value="kept"' in r.text

    def test_an_unknown_status_names_its_field(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """An unknown status is a 400 naming status, as over gRPC."""
        r = http_as("carol").get("/audit/decisions", params={"status": "MAYBE"})
        assert r.status_code == 400 and "status:" in r.text

    def test_a_reviewer_may_not_search(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """alice (no auditor role) gets 403."""
        assert http_as("alice").get("/audit/decisions").status_code == 403


class TestTrail:
    """GET /audit/decisions/{id}: the explain view."""

    def test_the_trail_shows_the_story_and_a_verified_chain(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """Input, proposal, rule and 'Chain verified' are on the page."""
        d = held(grpc_client)
        page = http_as("carol").get(f"/audit/decisions/{d.decision_id}").text
        assert "Chain verified" in page and "review_band" in page and "decision_received" in page
        assert "similar claims paid" in page

    def test_an_unknown_decision_is_404(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """A made-up id is a 404 page without internals."""
        r = http_as("carol").get("/audit/decisions/00000000-0000-4000-8000-000000000000")
        assert r.status_code == 404 and "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()

    def test_a_reviewer_gets_403_before_any_lookup(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """alice gets 403 for a real id and for a made-up one alike (no existence leak)."""
        d = held(grpc_client)
        c = http_as("alice")
        assert c.get(f"/audit/decisions/{d.decision_id}").status_code == 403
        assert c.get("/audit/decisions/nope").status_code == 403


class TestReport:
    """GET /audit/report and the self-contained file."""

    def test_the_report_counts_the_period(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """Two held decisions show in the volumes, and the verified chain in the chain box."""
        held(grpc_client)
        held(grpc_client)
        page = http_as("carol").get("/audit/report", params={"verify": "on"}).text
        assert "<dt>Held for review</dt><dd>2</dd>" in page and "Verified; head seq" in page

    def test_the_full_report_is_the_cli_html(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """/audit/report.html is the compliance report's own HTML document."""
        r = http_as("carol").get("/audit/report.html")
        assert r.status_code == 200 and "Signoff compliance report" in r.text

    def test_a_reversed_period_is_refused(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """from after to is a 400 naming from."""
        r = http_as("carol").get("/audit/report", params={"from": "2026-03-02", "to": "2026-03-01"})
        assert r.status_code == 400 and "from: must be before to" in r.text


def _wait_for_version(c: Any, name: str, version: int) -> None:
    for _ in range(100):
        if f'href="/policies/{name}/{version}"' in c.get("/policies").text:
            return
        time.sleep(0.1)  # the registry reloads every 0.2 s in this fixture
    raise AssertionError(f"{name} v{version} never loaded")


class TestPolicies:
    """Stored policy versions, their text, and a diff."""

    def test_each_version_has_its_text_and_a_diff(self, http_as, policy_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """After a v3 loads, both texts are served and the diff shows the changed threshold."""
        c = http_as("carol")
        path = policy_dir / "claims-triage.yaml"
        text = path.read_text()
        path.write_text(text.replace("version: 2", "version: 3", 1).replace("lte: 0.92", "lte: 0.95"))
        _wait_for_version(c, "claims-triage", 3)
        v2 = c.get("/policies/claims-triage/2").text
        assert "lte: 0.92" in v2
        diff = c.get("/policies/claims-triage/diff", params={"a": "2", "b": "3"}).text
        assert '<span class="del">-' in diff and "0.95" in diff

    def test_an_unknown_version_is_404_and_a_bad_one_400(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """v99 does not exist; 'x' is not a version."""
        c = http_as("alice")
        assert c.get("/policies/claims-triage/99").status_code == 404
        r = c.get("/policies/claims-triage/x")
        assert r.status_code == 400 and "version: must be a version number" in r.text


class TestReviewerEvidence:
    """GET /audit/reviewers: sign-offs per reviewer from the audit log."""

    def test_a_reviewers_sign_off_is_counted(self, http_as, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """alice's override shows as one review, one override, 100% override rate."""
        from tests.gateway.helpers import claim, submit

        held(grpc_client)
        task = claim(grpc_client, "junior", "alice").task
        submit(grpc_client, task.task_id, "alice", "override", outcome="deny", reason="r")
        page = http_as("carol").get("/audit/reviewers").text
        assert "<td>alice</td><td>1</td><td>0</td><td>0</td><td>1</td><td>0</td>" in page and "100.0%" in page
        evidence = page[page.index('id="evidence"') :]
        assert "<tr><td>alice</td><td>1</td>" in evidence and ">none</td></tr>" in evidence
        assert "<dt>accepts_wrong_gold</dt>" in evidence and "deliberately wrong gold proposals" in evidence

    def test_only_auditors_see_it_and_bad_times_are_named(self, http_as) -> None:  # type: ignore[no-untyped-def]
        """alice gets 403; a malformed from is a 400 naming from."""
        assert http_as("alice").get("/audit/reviewers").status_code == 403
        r = http_as("carol").get("/audit/reviewers", params={"from": "soon"})
        assert r.status_code == 400 and "from:" in r.text
