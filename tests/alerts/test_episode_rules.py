"""The grouping rule without a database: its doctests, and the care-plan preview counting with
it (one alert per episode, as the alerts stage would open)."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from uuid import UUID

from vigil.alerts import episodes
from vigil.alerts.episodes import AlertGrouping, rule_for
from vigil.api import preview
from vigil.api.preview import count_alerts
from vigil.clinical.findings import Explanation, Finding, Severity

T0 = datetime(2026, 1, 5, 3, tzinfo=UTC)
P1, P2 = UUID(int=1), UUID(int=2)


def low(minute: float, cause: str, value: float, patient: UUID = P1) -> Finding:
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
        low(20, "hypoglycemia", 61, patient=P2),
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


def test_a_slow_fall_after_a_predicted_low_is_one_alert() -> None:
    """Predicted low at 80, the CGM then at 70-80 with no finding for an hour of readings
    (seen up to 15 minutes late), then 67: one low, told once, not ended and reopened."""
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.add(low(0, "predicted_low", 80), seen=T0 + timedelta(minutes=10))
    g.add(low(60, "hypoglycemia", 67), seen=T0 + timedelta(minutes=70))
    [alert] = g.alerts
    assert len(alert.notified) == 1
    assert alert.causes == ["hypoglycemia", "predicted_low"]


def test_a_backlog_seen_at_once_is_one_alert_told_once() -> None:
    """A phone out of range for two hours uploads its readings together: the findings of two
    hours of a low reach the alerts stage in one batch, which updates one alert. The episode
    ends by the clock between uploads only (it opened and reopened 14 times for one low)."""
    upload = T0 + timedelta(minutes=115)
    backlog = [low(m, "hypoglycemia", 69 - m / 10) for m in range(0, 115, 5)]
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    for f in backlog:
        g.add(f, seen=upload)
    g.add(low(120, "hypoglycemia", 60), seen=upload + timedelta(minutes=10))
    [alert] = g.alerts
    assert alert.notified == [upload]
    assert len(alert.findings) == len(backlog) + 1


def test_the_clock_still_ends_a_low_during_a_dropout() -> None:
    """A low told, then two hours without an upload: the clock ended it an hour after its last
    finding; the backlog's finding, over the quiet period later, is a new alert."""
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.add(low(0, "hypoglycemia", 62), seen=T0)
    g.add(low(30, "hypoglycemia", 66), seen=T0 + timedelta(minutes=125))
    assert [len(a.notified) for a in g.alerts] == [1, 1]
    assert g.alerts[0].resolved_at == T0 + rule_for("low_glucose").ends_after


def vital(
    hours: float, cause: str, metric: str, value: float, severity: Severity, score: float = 1.0
) -> Finding:
    return Finding(
        P1, cause, (metric,), T0 + timedelta(hours=hours), cause, severity, score,
        Explanation(cause, value=value),
    )  # fmt: skip


def test_a_copd_exacerbation_with_fever_is_one_deterioration_alert() -> None:
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [
            vital(0, "copd_exacerbation", "spo2", 89, Severity.HIGH),
            vital(6, "fever", "body_temperature", 38.4, Severity.WARNING),
            vital(12, "news2", "respiratory_rate", 6, Severity.HIGH),
            vital(30, "spo2_low", "spo2", 86, Severity.CRITICAL),
            vital(70, "news2", "respiratory_rate", 5, Severity.HIGH),  # within 48 h of the last
        ]
    )
    [alert] = g.alerts
    assert alert.rule.key == "deterioration"
    assert alert.causes == ["copd_exacerbation", "fever", "news2", "spo2_low"]
    assert len(alert.notified) == 1
    assert alert.worst_value == 86  # the most severe finding's value
    assert alert.severity is Severity.CRITICAL


def test_other_states_stay_their_own_episodes() -> None:
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [
            vital(0, "spo2_low", "spo2", 86, Severity.CRITICAL),
            vital(1, "hypertensive_crisis", "bp_systolic", 186, Severity.CRITICAL),
            vital(3, "hf_decompensation", "body_weight", 84, Severity.HIGH),
            vital(4, "device_silent", "glucose", 24, Severity.WARNING),
            vital(5, "missed_measurements", "bp_systolic", 72, Severity.WARNING),
        ]
    )
    # A silent device and a patient's missed measurements stay apart: data from one device
    # answers its own absence only (the alerts stage resolves them by device); the detector
    # tells a whole patient's silence once, as missed measurements.
    assert sorted(a.rule.key for a in g.alerts) == [
        "deterioration",
        "device_silent",
        "hf_decompensation",
        "high_blood_pressure",
        "missed_measurements",
    ]
    # A deterioration ends three days after its last finding: a new one opens after that.
    g.add(vital(0 + 72 - 1, "news2", "spo2", 5, Severity.HIGH))
    assert [a.rule.key for a in g.alerts].count("deterioration") == 1
    g.add(vital(71 + 72 + 1, "news2", "spo2", 5, Severity.HIGH))
    assert [a.rule.key for a in g.alerts].count("deterioration") == 2


def test_a_tachycardia_with_the_early_warning_score_it_raised_is_one_alert() -> None:
    """NEWS2 sums the vital signs: the heart rate that scored 3 in it and the tachycardia
    alert are one deteriorating patient, one row, escalating to the worst finding."""
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [
            vital(0, "news2", "heart_rate", 5, Severity.HIGH),
            vital(0.5, "tachycardia", "heart_rate", 130, Severity.HIGH),
            vital(6, "fever", "body_temperature", 38.6, Severity.WARNING),
            vital(20, "tachycardia", "heart_rate", 176, Severity.CRITICAL),
        ]
    )
    [alert] = g.alerts
    assert alert.rule.key == "deterioration"
    assert alert.causes == ["fever", "news2", "tachycardia"]
    assert (len(alert.notified), alert.severity, alert.worst_value) == (1, Severity.CRITICAL, 176)


def test_a_heart_rate_alone_ends_after_two_hours_as_before() -> None:
    """A wearable's tachycardia with no other vital involved keeps its own short end: a bout
    the next day is told again; once a slower cause joined, the slowest end holds."""
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [
            vital(0, "tachycardia", "heart_rate", 128, Severity.HIGH),
            vital(1.5, "tachycardia", "heart_rate", 131, Severity.HIGH),  # the same bout
            vital(20, "bradycardia", "heart_rate", 38, Severity.HIGH),  # hours later: another
        ]
    )
    assert [(a.causes, len(a.findings)) for a in g.alerts] == [
        (["tachycardia"], 2),
        (["bradycardia"], 1),
    ]
    rule = rule_for("tachycardia")
    assert episodes.ends_after(rule, ["tachycardia"]) == timedelta(hours=2)
    assert episodes.ends_after(rule, ["tachycardia", "news2"]) == timedelta(hours=72)
    assert episodes.shortest_end() == rule_for("low_glucose").ends_after


def test_home_blood_pressure_above_target_waits_three_days() -> None:
    """A weekly average interrupted by two days at target mid-episode stays one alert."""
    g = AlertGrouping(quiet_period=timedelta(minutes=30))
    g.extend(
        [
            # Scored as the detector scores them: the average against the 135 mmHg target.
            vital(0, "bp_above_target", "bp_systolic", 138, Severity.WARNING, 138 / 135),
            vital(61, "bp_above_target", "bp_systolic", 146, Severity.WARNING, 146 / 135),
            vital(61 + 73, "bp_above_target", "bp_systolic", 139, Severity.WARNING, 139 / 135),
        ]
    )
    assert [(len(a.findings), a.worst_value) for a in g.alerts] == [(2, 146), (1, 139)]
