"""Alert lifecycle against the real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import ago, finding
from vigil.alerts import AlertPolicy, AlertService, AlertState, ChangeKind, Outcome, repo
from vigil.clinical.findings import Severity
from vigil.core.errors import Conflict
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[Any]


def count(conn: Conn, sql: str, *params: object) -> int:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def test_later_findings_update_the_one_open_alert(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService()
    first = svc.apply(conn, [finding(pid, value=88, time=ago(minutes=3))])
    second = svc.apply(
        conn,
        [finding(pid, value=87, time=ago(minutes=2)), finding(pid, value=86, time=ago(minutes=1))],
    )
    assert [c.kind for c in first] == [ChangeKind.OPENED]
    assert [c.kind for c in second] == [ChangeKind.UPDATED, ChangeKind.UPDATED]
    assert {c.alert_id for c in first + second} == {first[0].alert_id}
    alert = repo.get_alert(conn, alert_id=first[0].alert_id)
    assert alert is not None
    assert (alert.finding_count, alert.last_value, alert.state) == (3, 86, AlertState.OPEN)
    assert count(conn, "SELECT count(*) FROM alerts") == 1


def test_severity_rises_and_wakes_an_acknowledged_alert(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService()
    [opened] = svc.apply(conn, [finding(pid, severity=Severity.HIGH)])
    svc.acknowledge(conn, alert_id=opened.alert_id, user_id=None, note="calling")
    [raised] = svc.apply(conn, [finding(pid, value=80, severity=Severity.CRITICAL)])
    assert raised.kind is ChangeKind.SEVERITY_RAISED
    assert raised.state is AlertState.OPEN
    assert raised.severity is Severity.CRITICAL
    # A lower severity later does not lower it: the alert keeps the worst.
    [later] = svc.apply(conn, [finding(pid, value=89, severity=Severity.WARNING)])
    assert later.severity is Severity.CRITICAL
    kinds = [e.kind for e in repo.list_events(conn, alert_id=opened.alert_id)]
    assert kinds == ["opened", "acknowledged", "severity_raised"]
    assert repo.list_events(conn, alert_id=opened.alert_id)[1].note == "calling"


def test_snooze_resolve_and_the_quiet_period(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService(AlertPolicy(quiet_period=timedelta(minutes=30)))
    [opened] = svc.apply(conn, [finding(pid)])
    until = datetime.now(UTC) + timedelta(hours=1)
    snoozed = svc.snooze(conn, alert_id=opened.alert_id, user_id=None, until=until)
    assert snoozed.state is AlertState.SNOOZED
    resolved = svc.resolve(
        conn, alert_id=opened.alert_id, user_id=None, outcome=Outcome.NOT_ACTIONABLE
    )
    assert resolved.state is AlertState.RESOLVED
    with pytest.raises(Conflict):
        svc.acknowledge(conn, alert_id=opened.alert_id, user_id=None)
    # Flapping: the value crosses the threshold again 1 minute later -> the same alert reopens.
    [again] = svc.apply(conn, [finding(pid)])
    assert again.kind is ChangeKind.REOPENED
    assert again.alert_id == opened.alert_id
    assert count(conn, "SELECT count(*) FROM alerts") == 1
    # Past the quiet period a new alert is opened.
    svc.resolve(conn, alert_id=opened.alert_id, user_id=None, outcome=Outcome.ACTIONABLE)
    conn.execute("UPDATE alerts SET resolved_at = now() - interval '2 hours'")
    [fresh] = svc.apply(conn, [finding(pid)])
    assert fresh.kind is ChangeKind.OPENED
    assert fresh.alert_id != opened.alert_id


def test_snooze_wakes_up_and_critical_escalates(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    repo.add_webhook(
        conn, tenant_id=tenant, url="http://127.0.0.1:9/l1", secret="s", level=1, min_severity=0
    )
    svc = AlertService(AlertPolicy(escalate_after=timedelta(minutes=5), max_escalation_level=2))
    [low] = svc.apply(conn, [finding(pid, cause="hr_high")])
    svc.snooze(
        conn, alert_id=low.alert_id, user_id=None, until=datetime.now(UTC) + timedelta(minutes=1)
    )
    [crit] = svc.apply(conn, [finding(pid, severity=Severity.CRITICAL, value=80)])
    later = datetime.now(UTC) + timedelta(minutes=6)
    changes = svc.tick(conn, now=later)
    assert sorted(c.kind for c in changes) == [ChangeKind.ESCALATED, ChangeKind.UNSNOOZED]
    assert svc.tick(conn, now=later) == []
    # The escalation reached the level-1 webhook.
    assert (
        count(
            conn,
            "SELECT count(*) FROM deliveries d JOIN outbox o ON o.id = d.outbox_id"
            " WHERE o.kind = 'escalated'",
        )
        == 1
    )
    # Acknowledged alerts do not escalate any further.
    svc.acknowledge(conn, alert_id=crit.alert_id, user_id=None)
    assert svc.tick(conn, now=later + timedelta(hours=1)) == []


def test_backlog_answers_a_missing_data_alert_and_late_alerts_say_how_old(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, pid = patient
    svc = AlertService()
    [gap] = svc.apply(
        conn,
        [finding(pid, cause="missing_data.spo2", severity=Severity.WARNING, window_s=86400)],
    )
    late = ago(hours=20)
    reading = StoredReading(late, pid, Metric.SPO2, 84.0, "ox-1", datetime.now(UTC))
    changes = svc.apply(
        conn, [finding(pid, value=84, time=late, age_s=20 * 3600)], readings=[reading]
    )
    kinds = {c.alert_id: c.kind for c in changes}
    assert kinds[gap.alert_id] is ChangeKind.RESOLVED
    resolved = repo.get_alert(conn, alert_id=gap.alert_id)
    assert resolved is not None
    assert resolved.outcome is Outcome.ANSWERED_BY_DATA
    note = repo.list_events(conn, alert_id=gap.alert_id)[-1].note
    assert note is not None
    assert "late reading" in note
    [new_id] = [a for a, k in kinds.items() if k is ChangeKind.OPENED]
    alert = repo.get_alert(conn, alert_id=new_id)
    assert alert is not None
    assert alert.data_age_s == 20 * 3600
    assert "20.0 hours old" in alert.explanation["late_note"]


def test_the_missing_data_detectors_alerts_are_answered_by_data(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """Shaped like the streaming stage's findings: detector ``missing_data``, no metrics,
    ``window_s`` = how long nothing arrived, ``device_id`` for a silent device."""
    _, pid = patient
    svc = AlertService()
    now = datetime.now(UTC)
    [missed] = svc.apply(
        conn,
        [
            finding(pid, cause="missed_measurements", detector="missing_data", metrics=(),
                    severity=Severity.WARNING, window_s=36 * 3600)
        ],
    )  # fmt: skip
    [silent] = svc.apply(
        conn,
        [
            finding(pid, cause="device_silent", detector="missing_data", metrics=(),
                    severity=Severity.WARNING, window_s=8 * 3600, details={"device_id": "ox-1"})
        ],
    )  # fmt: skip
    backlog = StoredReading(now - timedelta(hours=30), pid, Metric.BP_SYSTOLIC, 130, "cuff", now)
    changes = svc.apply(conn, [], readings=[backlog])
    assert [(c.alert_id, c.kind) for c in changes] == [(missed.alert_id, ChangeKind.RESOLVED)]
    note = repo.list_events(conn, alert_id=missed.alert_id)[-1].note
    assert note is not None
    assert "late reading" in note
    live = StoredReading(now, pid, Metric.SPO2, 96, "ox-1", now)
    [resumed] = svc.apply(conn, [], readings=[live])
    assert resumed.alert_id == silent.alert_id
    assert repo.list_events(conn, alert_id=silent.alert_id)[-1].note == (
        f"measurements resumed at {now.isoformat()}"
    )


def test_the_alert_trail_is_append_only(conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]) -> None:
    _, pid = patient
    AlertService().apply(conn, [finding(pid)])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM alert_events")


def test_findings_for_unknown_patients_are_dropped(conn: Conn) -> None:
    assert AlertService().apply(conn, [finding(uuid.uuid4())]) == []
