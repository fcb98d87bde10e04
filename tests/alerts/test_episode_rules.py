"""The grouping rule without a database: its doctests, and the care-plan preview counting with
it (one alert per episode, as the alerts stage would open)."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta

from vigil.alerts import episodes
from vigil.alerts.episodes import AlertGrouping, rule_for
from vigil.api import preview
from vigil.api.preview import count_alerts
from vigil.streaming.findings import Explanation, Finding, Severity

T0 = datetime(2026, 1, 5, 3, tzinfo=UTC)


def low(minute: float, cause: str, value: float, patient: str = "p1") -> Finding:
    return Finding(
        patient, cause, ("glucose",), T0 + timedelta(minutes=minute), "glucose_range",
        Severity.HIGH, 1.0, Explanation("low", value=value),
    )  # fmt: skip


def test_doctests() -> None:
    assert doctest.testmod(episodes).failed == 0
    assert doctest.testmod(preview).failed == 0


def test_the_preview_counts_one_alert_per_episode() -> None:
    findings = [
        low(0, "predicted_low", 80),
        low(10, "hypoglycemia", 62),
        low(20, "hypoglycemia_urgent", 50),
        low(30, "hypoglycemia", 60),
        low(20, "hypoglycemia", 61, patient="p2"),
    ]
    assert count_alerts(findings) == {"hypoglycemia": 1, "predicted_low": 1}
    # After the episode ended and the quiet period passed, a new one.
    later = rule_for("low_glucose").ends_after + timedelta(hours=1)
    again = low(30 + later.total_seconds() / 60, "hypoglycemia", 65)
    assert count_alerts([*findings, again]) == {"hypoglycemia": 2, "predicted_low": 1}


def test_a_finding_soon_after_the_end_reopens_the_alert() -> None:
    ends = rule_for("low_glucose").ends_after
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [low(0, "hypoglycemia", 62), low(ends / timedelta(minutes=1) + 20, "hypoglycemia", 66)]
    )
    [alert] = g.alerts
    assert len(alert.notified) == 2  # told twice: counted as a reopening, not a new alert
    assert alert.worst_value == 62
