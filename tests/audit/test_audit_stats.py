"""Override statistics from review_submitted events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from audit import GENESIS, NewEvent, chain, override_stats


def review(action: str, **fields: Any) -> dict[str, Any]:
    """A review_submitted body with sensible defaults."""
    body: dict[str, Any] = {
        "decision_id": "d",
        "queue": "junior",
        "rule": "mid_confidence",
        "reviewer": "ana",
        "action": action,
        "policy_name": "claims-triage",
        "policy_version": 3,
        "time_to_decision_seconds": 60.0,
        "kind": "review",
    }
    body.update(fields)
    return body


class TestOverrideStats:
    def test_counts_each_action(self) -> None:
        """Each action is counted, and reviewed is their total."""
        bodies = [review(a) for a in ("APPROVE", "APPROVE", "EDIT", "OVERRIDE", "REJECT")]

        (s,) = override_stats(bodies, ())

        assert (s.reviewed, s.approved, s.edited, s.overridden, s.rejected) == (5, 2, 1, 1, 1)

    def test_rates(self) -> None:
        """override_rate counts overrides only; changed_rate counts all but approvals."""
        bodies = [review(a) for a in ("APPROVE", "OVERRIDE", "OVERRIDE", "EDIT")]

        (s,) = override_stats(bodies, ())

        assert (s.override_rate, s.changed_rate) == (0.5, 0.75)

    def test_median_time_to_decision(self) -> None:
        """The median time to decision is taken over the group's reviews."""
        bodies = [review("APPROVE", time_to_decision_seconds=t) for t in (10, 30, 500)]

        (s,) = override_stats(bodies, ())

        assert s.median_time_to_decision_seconds == 30

    def test_groups_by_keys_in_natural_order(self) -> None:
        """Groups are keyed by the requested fields; versions sort numerically."""
        bodies = [review("APPROVE", policy_version=10), review("OVERRIDE", policy_version=9)]

        got = override_stats(bodies, ["policy_version"])

        assert [(dict(s.key), s.overridden) for s in got] == [
            ({"policy_version": 9}, 1),
            ({"policy_version": 10}, 0),
        ]

    def test_groups_by_several_keys(self) -> None:
        """Grouping by queue and reviewer gives one group per pair seen."""
        bodies = [review("APPROVE", reviewer=r, queue=q) for r, q in [("a", "j"), ("b", "j"), ("a", "j")]]

        got = override_stats(bodies, ["queue", "reviewer"])

        assert [(dict(s.key), s.reviewed) for s in got] == [
            ({"queue": "j", "reviewer": "a"}, 2),
            ({"queue": "j", "reviewer": "b"}, 1),
        ]

    def test_reads_stored_events_and_skips_other_types(self) -> None:
        """Chained events are read by type: only review_submitted ones count."""
        t = datetime(2026, 1, 1, tzinfo=UTC)
        events = chain(
            [
                NewEvent("routed", t, "gw", body={"route": "junior"}),
                NewEvent("review_submitted", t, "ana", body=review("OVERRIDE")),
            ],
            0,
            GENESIS,
        )

        (s,) = override_stats(events, ["reviewer"])

        assert (dict(s.key), s.reviewed, s.overridden) == ({"reviewer": "ana"}, 1, 1)

    def test_reads_event_mappings(self) -> None:
        """Event mappings with a type and a JSON body are read like stored events."""
        events: list[Mapping[str, Any]] = [
            {"type": "review_submitted", "body": '{"action":"REJECT"}'},
            {"type": "decision_received", "body": {}},
        ]

        (s,) = override_stats(events, ())

        assert (s.reviewed, s.rejected) == (1, 1)

    def test_no_reviews_no_groups(self) -> None:
        """Without review events there are no groups (and no division by zero)."""
        assert override_stats([], ["queue"]) == []

    def test_refuses_unknown_group_keys(self) -> None:
        """Grouping by a field the body does not define is a ValueError."""
        with pytest.raises(ValueError, match="subject_ref"):
            override_stats([], ["subject_ref"])
