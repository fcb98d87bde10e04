"""The whole pipeline with real parts: broker -> ingest -> detectors -> alerts -> API, SSE, webhook.

A provisioned oximeter publishes SpO2 85 % for a COPD patient; the alert is visible through the
API and on the SSE stream with its explanation; acknowledging it is reflected in its events; a
webhook receiver gets exactly one delivery, and one more after a failure and a retry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from tests.alerts.receiver import Receiver
from tests.api.conftest import LiveServer, build_world
from tests.api.sse import SseReader
from tests.conftest import Harness
from tests.waiting import wait_for
from vigil.ingest import DevicePublisher
from vigil.serve import running_stages
from vigil.storage import admin


def settled_deliveries(db_url: str, at_least: int) -> int | None:
    """The webhook deliveries made, once there are ``at_least`` and none is pending (due or
    waiting for a retry); None until then."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'pending'),"
            " count(*) FILTER (WHERE state = 'delivered') FROM deliveries"
        ).fetchone()
    assert row is not None
    pending, delivered = row
    return None if pending or delivered < at_least else int(delivered)


def publish(
    harness: Harness, creds: admin.DeviceCredentials, readings: list[dict[str, Any]]
) -> None:
    pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
    pub.connect()
    pub.publish(json.dumps({"readings": readings}).encode()).wait_for_publish(5)
    pub.close()


def test_spo2_85_for_copd_patient_becomes_an_explained_alert_everywhere(
    harness: Harness,
) -> None:
    world = build_world(harness.db_url)
    patient = world.a.patient  # COPD, in the clinician's care team
    with psycopg.connect(harness.db_url, autocommit=True) as conn:
        oximeter = admin.provision_device(conn, tenant_id=world.a.id, kind="oximeter")
        thermometer = admin.provision_device(conn, tenant_id=world.a.id, kind="thermometer")
        cuff = admin.provision_device(conn, tenant_id=world.a.id, kind="bp_cuff")
        for creds in (oximeter, thermometer, cuff):
            admin.assign_device(
                conn,
                device_id=creds.device_id,
                patient_id=patient,
                valid_from=datetime.now(UTC) - timedelta(days=1),
            )
    harness.sync()
    clinician = world.headers("clinician")
    with (
        Receiver() as receiver,
        # The receiver is on this machine, over http: both refused by default.
        running_stages(
            harness.settings(webhook_allow_http=True, webhook_allow_loopback=True)
        ) as running,
        LiveServer(running.app) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as api,
    ):
        hook = api.post(
            "/api/v1/webhooks",
            headers=world.headers("admin"),
            json={"url": receiver.url, "secret": "e2e-secret-123", "min_severity": "warning"},
        )
        assert hook.status_code == 201, hook.text
        with SseReader(f"{base_url}/api/v1/alerts/stream", clinician) as sse:
            now = datetime.now(UTC).replace(microsecond=0)
            publish(
                harness,
                oximeter,
                [{"ts": now.isoformat(), "metric": "spo2", "value": 85, "unit": "%"}],
            )
            event = sse.next(timeout=20)
        data = event["data"]
        assert data["patient_id"] == str(patient)
        assert data["cause"] == "spo2_low"
        assert data["kind"] == "opened"
        assert "85%" in data["explanation"]
        assert "88%" in data["explanation"]

        alerts = api.get("/api/v1/alerts", headers=clinician, params={"patient_id": str(patient)})
        assert alerts.status_code == 200, alerts.text
        [alert] = alerts.json()
        assert alert["severity"] == "critical"
        assert "below the patient's 88% threshold" in json.dumps(alert)

        ack = api.post(
            f"/api/v1/alerts/{alert['id']}/acknowledge", headers=clinician, json={"note": "called"}
        )
        assert ack.status_code == 200, ack.text
        events = api.get(f"/api/v1/alerts/{alert['id']}/events", headers=clinician).json()
        assert [e["kind"] for e in events][-1] == "acknowledged"

        # Once the dispatcher has nothing pending, exactly one delivery was made, and received.
        assert wait_for(lambda: settled_deliveries(harness.db_url, 1), "deliveries settled") == 1
        assert len(receiver.received) == 1
        assert receiver.received[0][1]["alert"]["cause"] == "spo2_low"

        receiver.fail_next = 1  # the next delivery fails once (503), then the retry succeeds
        # Another state (a fever or a fast heart rate would join the open low-oxygen alert's
        # deterioration episode).
        publish(
            harness,
            cuff,
            [
                {"ts": now.isoformat(), "metric": "bp_systolic", "value": 192, "unit": "mmHg"},
                {"ts": now.isoformat(), "metric": "bp_diastolic", "value": 124, "unit": "mmHg"},
            ],
        )
        settled = wait_for(lambda: settled_deliveries(harness.db_url, 2), "deliveries settled", 90)
        assert settled == 2
        assert receiver.fail_next == 0
        assert len(receiver.received) == 2
        assert receiver.received[1][1]["alert"]["cause"] == "hypertensive_crisis"
        # The webhook carries the explanation in English and in Korean, worded from its values.
        crisis = receiver.received[1][1]["alert"]
        assert crisis["explanation"].startswith("Blood pressure 192/124 mmHg, at or above")
        assert crisis["explanation_ko"].startswith("혈압 192/124 mmHg, 고혈압 위기 기준")
