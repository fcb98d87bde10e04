"""Alerts through the API: inbox, actions, events, SSE, and the burden report."""

from __future__ import annotations

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import World
from tests.api.sse import SseReader
from vigil.alerts import AlertService
from vigil.streaming.findings import Severity

pytestmark = pytest.mark.integration


def test_alert_inbox_actions_events_and_stream(
    client: httpx.Client, base_url: str, world: World
) -> None:
    nurse = world.headers("clinician")
    stream_url = f"{base_url}/api/v1/alerts/stream"
    with SseReader(stream_url, nurse) as sse, world.conn() as conn:
        changes = AlertService().apply(
            conn,
            [
                finding(world.a.patient, value=85, severity=Severity.CRITICAL),
                finding(world.a.other_patient, cause="bp_high"),  # not the nurse's patient
            ],
        )
        [opened] = [c for c in changes if c.patient_id == world.a.patient]
        event = sse.next()
        assert event["event"] == "alert"
        assert event["data"]["alert_id"] == str(opened.alert_id)
        assert event["data"]["kind"] == "opened"
        assert event["data"]["explanation"] == "SpO2 85 % is below 90 %"

        inbox = client.get("/api/v1/alerts", headers=nurse).json()
        assert [a["id"] for a in inbox] == [str(opened.alert_id)]
        assert inbox[0]["severity"] == "critical"
        assert inbox[0]["explanation"]["sentence"] == "SpO2 85 % is below 90 %"
        assert len(client.get("/api/v1/alerts", headers=world.headers("admin")).json()) == 2
        assert client.get("/api/v1/alerts", headers=world.headers("outsider")).json() == []

        url = f"/api/v1/alerts/{opened.alert_id}"
        r = client.post(f"{url}/acknowledge", json={"note": "calling her"}, headers=nurse)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged"
        assert sse.next()["data"]["kind"] == "acknowledged"
        r = client.post(f"{url}/comments", json={"note": "re-measured: 91"}, headers=nurse)
        assert r.status_code == 200
        r = client.post(f"{url}/resolve", json={"outcome": "actionable"}, headers=nurse)
        assert r.json()["state"] == "resolved"
        r = client.post(f"{url}/snooze", json={"minutes": 5}, headers=nurse)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"

        events = client.get(f"{url}/events", headers=nurse).json()
        assert [e["kind"] for e in events] == ["opened", "acknowledged", "commented", "resolved"]
        assert events[1]["note"] == "calling her"
        assert events[1]["actor_user_id"] == str(world.a.users["clinician"])
        resolved = client.get("/api/v1/alerts?state=resolved", headers=nurse).json()
        assert resolved[0]["outcome"] == "actionable"

    report = client.get("/api/v1/reports/alert-burden", headers=world.headers("admin")).json()
    spo2 = next(r for r in report["by_rule"] if r["key"] == "spo2_low")
    assert spo2["alerts"] == 1
    assert spo2["actionable_share"] == 1.0
    assert spo2["alerts_per_patient_week"] > 0
