"""End to end with the real broker and database: device -> MQTT -> ingest -> detection ->
alerts -> API, SSE and webhooks.

The streaming stage (``StreamEngine``) has not landed yet: the detection step here is the
care-plan threshold replay (a COPD patient's SpO2 threshold of 88 %). Once ``vigil serve``
wires ingest -> streaming -> alerts, this test should drive that wiring instead of ``sink``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.alerts.receiver import Receiver
from tests.api.conftest import LiveServer, make_app
from tests.api.sse import SseReader
from tests.conftest import Harness
from vigil.alerts import AlertService, AlertWorker, DispatchPolicy, WebhookDispatcher
from vigil.api import Role
from vigil.api import repo as api_repo
from vigil.api.preview import threshold_replay
from vigil.api.security import hash_password, new_token, token_digest
from vigil.core.models import StoredReading
from vigil.ingest import DevicePublisher, Ingest

pytestmark = pytest.mark.integration

COPD_THRESHOLDS = {"spo2": {"low": 88}}


def _nurse_token(db_url: str, tenant: uuid.UUID, patient: uuid.UUID) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        nurse = api_repo.create_user(
            conn,
            tenant_id=tenant,
            email="nurse@e2e.example",
            display_name="Nurse",
            role=Role.CLINICIAN,
            password_hash=hash_password("not used in this test"),
        )
        team = api_repo.create_team(conn, tenant_id=tenant, name="COPD")
        api_repo.add_member(conn, team_id=team, user_id=nurse, tenant_id=tenant)
        api_repo.add_team_patient(conn, team_id=team, patient_id=patient, tenant_id=tenant)
        token = new_token()
        api_repo.store_token(
            conn,
            digest=token_digest(token),
            user_id=nurse,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    return token


def _publish_spo2(harness: Harness, device: str, password: str, value: float) -> None:
    pub = DevicePublisher("127.0.0.1", harness.broker.port, device, password)
    pub.connect()
    ts = datetime.now(UTC).isoformat()
    body = f'{{"readings": [{{"ts": "{ts}", "metric": "spo2", "value": {value}, "unit": "%"}}]}}'
    pub.publish(body.encode()).wait_for_publish(10)
    pub.close()


def _wait(predicate: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_spo2_85_for_a_copd_patient_reaches_the_care_team(harness: Harness) -> None:
    patient, creds = harness.patient_with_device(kind="oximeter", conditions=["copd"])
    token = _nurse_token(harness.db_url, harness.tenant_id, patient)
    nurse = {"Authorization": f"Bearer {token}"}
    service = AlertService()
    errors: list[BaseException] = []

    def sink(readings: Sequence[StoredReading]) -> None:
        try:
            with psycopg.connect(harness.db_url, autocommit=True) as conn:
                findings = threshold_replay(
                    readings, conditions=["copd"], thresholds=COPD_THRESHOLDS
                )
                service.apply(conn, findings, readings=readings)
        except BaseException as exc:  # surfaced by the test, not swallowed
            errors.append(exc)
            raise

    with Receiver() as rx, psycopg.connect(harness.db_url, autocommit=True) as conn:
        webhook = conn.execute(
            "INSERT INTO webhooks (tenant_id, url, secret) VALUES (%s, %s, 'e2e-secret')"
            " RETURNING id",
            (harness.tenant_id, rx.url),
        ).fetchone()
        assert webhook is not None
        worker = AlertWorker(
            connect=lambda: psycopg.connect(harness.db_url, autocommit=True),
            tick=service.tick,
            dispatcher=WebhookDispatcher(policy=DispatchPolicy(backoff_base_s=0.2)),
            interval_s=0.1,
        )
        ingest = Ingest(
            harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target, sink=sink
        )
        worker.start()
        ingest.start()
        try:
            with (
                LiveServer(make_app(harness.db_url, alert_service=service)) as base,
                httpx.Client(base_url=base, timeout=10) as client,
                SseReader(f"{base}/api/v1/alerts/stream", nurse) as sse,
            ):
                ingest.transport.subscribed.wait(10)
                _publish_spo2(harness, creds.device_id, creds.password, 85)

                event = sse.next(timeout=15)
                assert event["data"]["kind"] == "opened"
                assert event["data"]["patient_id"] == str(patient)
                assert "Oxygen saturation 85 % is below" in event["data"]["explanation"]
                [alert] = client.get("/api/v1/alerts", headers=nurse).json()
                assert alert["last_value"] == 85
                assert "threshold of 88 %" in alert["explanation"]["sentence"]

                url = f"/api/v1/alerts/{alert['id']}"
                r = client.post(f"{url}/acknowledge", json={"note": "on my way"}, headers=nurse)
                assert r.status_code == 200, r.text
                events = client.get(f"{url}/events", headers=nurse).json()
                assert [e["kind"] for e in events] == ["opened", "acknowledged"]
                assert events[1]["note"] == "on my way"

                _wait(lambda: len(rx.received) == 1, "the webhook delivery")
                assert rx.received[0][1]["event"] == "opened"

                # The receiver fails once; the dispatcher retries; one more delivery arrives.
                r = client.post(f"{url}/resolve", json={"outcome": "actionable"}, headers=nurse)
                assert r.status_code == 200
                rx.fail_next = 1
                _publish_spo2(harness, creds.device_id, creds.password, 84)
                _wait(lambda: len(rx.received) == 2, "the retried delivery")
                assert rx.received[1][1]["event"] == "reopened"
                time.sleep(0.5)
                assert len(rx.received) == 2
                attempts = [
                    row[0] for row in conn.execute("SELECT attempts FROM deliveries ORDER BY id")
                ]
                assert attempts == [1, 2]
        finally:
            ingest.stop()
            worker.stop()
    assert errors == []
    assert worker.errors == 0
