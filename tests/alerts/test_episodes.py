"""Alert episodes against the real database: one alert per physiological state, escalating and
de-escalating, ended by the clock once seen; the replay grouping agrees with the service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import finding
from vigil.alerts import AlertPolicy, AlertService, AlertState, ChangeKind, Outcome, repo
from vigil.alerts.episodes import AlertGrouping, episode_of, rule_for
from vigil.clinical.findings import Finding, Severity

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[Any]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def glucose(pid: uuid.UUID, minute: float, cause: str, value: float) -> Finding:
    severity = {"hypoglycemia_urgent": Severity.CRITICAL}.get(cause, Severity.HIGH)
    return finding(
        pid,
        cause=cause,
        value=value,
        severity=severity,
        time=T0 + timedelta(minutes=minute),
        detector="glucose_range",
        metrics=("glucose",),
    )


def alerts_of(conn: Conn, pid: uuid.UUID) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT episode, cause, causes, worst_value, severity, state, first_seen FROM alerts"
        " WHERE patient_id = %s ORDER BY opened_at",
        (pid,),
    ).fetchall()


def test_a_low_that_escalates_and_recovers_is_one_alert(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService()
    sequence = [
        glucose(pid, 0, "predicted_low", 84),
        glucose(pid, 10, "hypoglycemia", 63),
        glucose(pid, 20, "hypoglycemia_urgent", 49),
        glucose(pid, 25, "hypoglycemia_urgent", 47),
        glucose(pid, 40, "hypoglycemia", 60),
    ]
    kinds = [c.kind for f in sequence for c in svc.apply(conn, [f], now=f.time)]
    assert kinds == [
        ChangeKind.OPENED,
        ChangeKind.CAUSE_CHANGED,
        ChangeKind.SEVERITY_RAISED,
        ChangeKind.UPDATED,
        ChangeKind.CAUSE_CHANGED,
    ]
    [(episode, cause, causes, worst, severity, state, started)] = alerts_of(conn, pid)
    assert episode == "low_glucose"
    assert cause == "hypoglycemia"  # de-escalated: the current state
    assert causes == ["hypoglycemia", "hypoglycemia_urgent", "predicted_low"]
    assert (worst, severity, state) == (47, Severity.CRITICAL, "open")
    assert started == T0
    [alert_id] = {c.alert_id for c in svc.apply(conn, [glucose(pid, 45, "hypoglycemia", 66)])}
    events = repo.list_events(conn, alert_id=alert_id)
    assert [e.kind for e in events] == [
        "opened",
        "cause_changed",
        "severity_raised",
        "cause_changed",
    ]
    assert events[2].details["from_cause"] == "hypoglycemia"
    assert events[2].details["cause"] == "hypoglycemia_urgent"


def test_other_states_stay_apart(conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]) -> None:
    _, pid = patient
    svc = AlertService()
    svc.apply(conn, [glucose(pid, 0, "hypoglycemia", 62)], now=T0)
    svc.apply(conn, [glucose(pid, 5, "hyperglycemia", 280)], now=T0)
    svc.apply(conn, [finding(pid, cause="spo2_low", time=T0), finding(pid, cause="fever")])
    svc.apply(conn, [finding(pid, cause="copd_exacerbation", value=89, time=T0)])
    episodes = sorted(row[0] for row in alerts_of(conn, pid))
    # Low SpO2, a COPD drop and a fever are one deterioration; the glucose states stay apart.
    assert episodes == ["deterioration", "hyperglycemia", "low_glucose"]


def test_the_clock_ends_a_seen_episode_and_keeps_an_unseen_one(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    from vigil.storage import admin

    other = admin.create_patient(conn, tenant_id=tenant, display_name="Q", conditions=["t1d"])
    svc = AlertService()
    [seen] = svc.apply(conn, [glucose(pid, 0, "hypoglycemia", 62)], now=T0)
    [unseen] = svc.apply(conn, [glucose(other, 0, "hypoglycemia_urgent", 45)], now=T0)
    svc.acknowledge(conn, alert_id=seen.alert_id, user_id=None)
    ends = rule_for("low_glucose").ends_after
    svc.tick(conn, now=T0 + ends - timedelta(minutes=1))
    before = repo.get_alert(conn, alert_id=seen.alert_id)
    assert before is not None
    assert before.state is AlertState.ACKNOWLEDGED
    changes = svc.tick(conn, now=T0 + ends)
    ended = [c for c in changes if c.alert_id == seen.alert_id]
    assert [c.kind for c in ended] == [ChangeKind.RESOLVED]
    alert = repo.get_alert(conn, alert_id=seen.alert_id)
    assert alert is not None
    assert alert.outcome is Outcome.EPISODE_ENDED
    assert alert.resolved_by is None
    still = repo.get_alert(conn, alert_id=unseen.alert_id)
    assert still is not None
    assert still.state is AlertState.OPEN
    # Within the quiet period the same row reopens (after it, a new one opens: see below).
    quiet = svc.policy.quiet_period
    [reopened] = svc.apply(conn, [glucose(pid, 70, "hypoglycemia", 64)], now=T0 + ends + quiet / 2)
    assert (reopened.kind, reopened.alert_id) == (ChangeKind.REOPENED, seen.alert_id)


def test_a_heart_rate_alone_ends_sooner_than_a_deterioration_it_joined(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """The clock ends a seen deterioration by the slowest of the causes it holds: two hours
    for a tachycardia alone, three days once the early-warning score it raised has joined."""
    tenant, pid = patient
    from vigil.storage import admin

    other = admin.create_patient(conn, tenant_id=tenant, display_name="R", conditions=["copd"])
    svc = AlertService()

    def rate(p: uuid.UUID, cause: str, value: float) -> Finding:
        return finding(
            p, cause=cause, value=value, time=T0, detector=cause, metrics=("heart_rate",)
        )

    [alone] = svc.apply(conn, [rate(pid, "tachycardia", 130)], now=T0)
    [joined, same] = svc.apply(
        conn, [rate(other, "news2", 5), rate(other, "tachycardia", 131)], now=T0
    )
    assert same.alert_id == joined.alert_id  # one row: the score and the rate that raised it
    for change in (alone, joined):
        svc.acknowledge(conn, alert_id=change.alert_id, user_id=None)
    svc.tick(conn, now=T0 + timedelta(hours=2))
    states = {
        a: got.state
        for a in (alone.alert_id, joined.alert_id)
        if (got := repo.get_alert(conn, alert_id=a)) is not None
    }
    assert states == {
        alone.alert_id: AlertState.RESOLVED,
        joined.alert_id: AlertState.ACKNOWLEDGED,
    }
    svc.tick(conn, now=T0 + timedelta(hours=72))
    ended = repo.get_alert(conn, alert_id=joined.alert_id)
    assert ended is not None
    assert (ended.state, ended.outcome) == (AlertState.RESOLVED, Outcome.EPISODE_ENDED)


def test_missing_data_alerts_are_not_ended_by_the_clock(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService()
    [gap] = svc.apply(
        conn,
        [finding(pid, cause="missed_measurements", detector="missing_data", time=T0)],
        now=T0,
    )
    svc.acknowledge(conn, alert_id=gap.alert_id, user_id=None)
    svc.tick(conn, now=T0 + timedelta(days=3))
    alert = repo.get_alert(conn, alert_id=gap.alert_id)
    assert alert is not None
    assert alert.state is AlertState.ACKNOWLEDGED


def test_the_replay_grouping_counts_what_the_service_does(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """The same findings, through AlertService (acknowledging each alert when shown, the clock
    ticking every 5 minutes) and through AlertGrouping: the same alerts and reopenings."""
    _, pid = patient
    # Acknowledgements happen on the real clock, the findings on a simulated one two days ago:
    # no hold of seen critical alerts, which would count from the real acknowledgement.
    policy = AlertPolicy(quiet_period=timedelta(minutes=30), seen_critical_hold=timedelta(0))
    svc = AlertService(policy)
    minutes = [0, 5, 10, 50, 100, 130, 170, 400, 405, 1000, 1090, 1120]
    causes = ["predicted_low", "hypoglycemia", "hypoglycemia_urgent", "hypoglycemia"]
    sequence = [glucose(pid, m, causes[i % len(causes)], 60 - i) for i, m in enumerate(minutes)]
    opened = reopened = 0
    clock = T0
    for f in sequence:
        while clock < f.time:  # the clock ticks every 5 minutes, as the alert worker's does
            svc.tick(conn, now=clock)
            clock += timedelta(minutes=5)
        for change in svc.apply(conn, [f], now=f.time):
            opened += change.kind is ChangeKind.OPENED
            reopened += change.kind is ChangeKind.REOPENED
            if change.state is AlertState.OPEN:  # the team sees every alert it is shown
                svc.acknowledge(conn, alert_id=change.alert_id, user_id=None)
    grouping = AlertGrouping(quiet_period=policy.quiet_period)
    grouping.extend(sequence)
    notified = sum(len(a.notified) for a in grouping.alerts)
    assert (opened, reopened) == (len(grouping.alerts), notified - len(grouping.alerts))
    assert len(alerts_of(conn, pid)) == len(grouping.alerts)
    assert opened >= 2
    assert reopened >= 1
    assert {episode_of(f.cause) for f in sequence} == {"low_glucose"}


def test_a_backlog_in_one_upload_is_one_alert_in_both(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """Two hours of a low uploaded at once after a dropout: the service updates one alert with
    the whole batch, and the replay grouping, given the same seen time, counts the same."""
    _, pid = patient
    policy = AlertPolicy(quiet_period=timedelta(minutes=30))
    svc = AlertService(policy)
    backlog = [glucose(pid, m, "hypoglycemia", 69 - m / 10) for m in range(0, 115, 5)]
    upload = T0 + timedelta(minutes=115)
    changes = svc.apply(conn, backlog, now=upload)
    assert sum(c.kind is ChangeKind.OPENED for c in changes) == 1
    assert not any(c.kind is ChangeKind.REOPENED for c in changes)
    grouping = AlertGrouping(quiet_period=policy.quiet_period)
    for f in backlog:
        grouping.add(f, seen=upload)
    assert [len(a.notified) for a in grouping.alerts] == [1]
    assert len(alerts_of(conn, pid)) == 1


def test_a_seen_critical_alert_stays_a_while_after_its_episode_ended(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """An urgent low acknowledged (or snoozed) after its episode is already over is not
    resolved by the clock until the hold has passed since a person saw it; then the
    resolution names itself as automatic in the trail."""
    tenant, pid = patient
    from vigil.storage import admin

    other = admin.create_patient(conn, tenant_id=tenant, display_name="S", conditions=["t1d"])
    svc = AlertService(AlertPolicy(seen_critical_hold=timedelta(minutes=30)))
    [acked] = svc.apply(conn, [glucose(pid, 0, "hypoglycemia_urgent", 45)], now=T0)
    [snoozed] = svc.apply(conn, [glucose(other, 0, "hypoglycemia_urgent", 44)], now=T0)
    svc.acknowledge(conn, alert_id=acked.alert_id, user_id=None)
    svc.snooze(
        conn, alert_id=snoozed.alert_id, user_id=None, until=datetime.now(UTC) + timedelta(days=1)
    )
    seen = datetime.now(UTC)

    def states() -> list[AlertState]:
        got = [repo.get_alert(conn, alert_id=c.alert_id) for c in (acked, snoozed)]
        return [a.state for a in got if a is not None]

    svc.tick(conn, now=seen + timedelta(minutes=29))  # the episode ended two days ago
    assert states() == [AlertState.ACKNOWLEDGED, AlertState.SNOOZED]
    changes = svc.tick(conn, now=seen + timedelta(minutes=31))
    assert sorted(str(c.alert_id) for c in changes if c.kind is ChangeKind.RESOLVED) == sorted(
        [str(acked.alert_id), str(snoozed.alert_id)]
    )
    assert states() == [AlertState.RESOLVED, AlertState.RESOLVED]
    events = repo.list_events(conn, alert_id=acked.alert_id)
    last = events[-1]
    assert (last.kind, last.actor_user_id) == ("resolved", None)
    assert last.note is not None
    assert last.note.startswith("resolved automatically: no finding for")
