"""The monitors on the gateway's own /metrics: computed off the hot path, exported at scrape time."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import grpc

from gateway.reports.monitor_gauges import MonitorCollector
from tests.conftest import Client, auth, start_app
from tests.gateway.helpers import claim_request


def _scrape(port: int) -> str:
    """The gateway's /metrics page."""
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()


class TestMonitorGauges:
    """``serve --monitor-seconds`` puts the drift monitors next to the gateway's other metrics."""

    def test_a_real_gateway_exports_the_monitor(self, db_url: str, policy_dir: Path) -> None:
        """After some decisions and one monitor run, /metrics has claims.payout's route shares and alarm."""
        app = start_app(db_url, policy_dir, metrics_port=0, monitor_seconds=0.3, monitor_alpha=0.05)
        try:
            address = f"127.0.0.1:{app.port}"  # type: ignore[attr-defined]
            with grpc.insecure_channel(address) as ch:
                client = Client(ch, address)
                for i, conf in enumerate((0.97, 0.99, 0.95, 0.80)):
                    client.decisions.Decide(
                        claim_request(confidence=conf, request_id=f"mon-{i}"), metadata=auth("caller"), timeout=30
                    )
            deadline, text = time.monotonic() + 30, ""
            while time.monotonic() < deadline:
                text = _scrape(app.metrics_port)  # type: ignore[attr-defined]
                if 'signoff_monitor_route_share{decision_type="claims.payout"' in text:
                    break
                time.sleep(0.2)
        finally:
            app.stop()  # type: ignore[attr-defined]
        shares = [line for line in text.splitlines() if line.startswith("signoff_monitor_route_share{")]
        assert any('route="auto"' in line and line.endswith(" 0.75") for line in shares), shares
        assert any(line.startswith('signoff_monitor_alarm{decision_type="claims.payout"') for line in text.splitlines())

    def test_off_exports_nothing(self, db_url: str, policy_dir: Path) -> None:
        """With --monitor-seconds 0 there is no monitor family at all."""
        app = start_app(db_url, policy_dir, metrics_port=0, monitor_seconds=0)
        try:
            text = _scrape(app.metrics_port)  # type: ignore[attr-defined]
        finally:
            app.stop()  # type: ignore[attr-defined]
        assert "signoff_monitor_" not in text and "signoff_decisions_total" in text


class TestMonitorCollector:
    """The collector exports the last result it was given, and nothing before the first."""

    def test_before_the_first_run(self) -> None:
        """No samples until the monitor has run once."""
        assert all(not family.samples for family in MonitorCollector().collect())

    def test_update_replaces(self) -> None:
        """A later result replaces the earlier one."""
        mon = {
            "decision_type": "t",
            "models": {
                "m": {
                    "psi": 0.5,
                    "ks": {"statistic": 0.2},
                    "overrides": {"observed": 1, "expected": 2.0},
                    "audited_error": {"observed_rate": None, "lower_bound": None, "alarm": True},
                    "route_share": {"auto": 1.0},
                }
            },
        }
        collector = MonitorCollector()
        collector.update([mon])
        samples = {(f.name, s.labels.get("route")): s.value for f in collector.collect() for s in f.samples}
        assert samples[("signoff_monitor_confidence_psi", None)] == 0.5
        assert samples[("signoff_monitor_alarm", None)] == 1.0
        assert samples[("signoff_monitor_route_share", "auto")] == 1.0
        collector.update([])
        assert all(not family.samples for family in collector.collect())
