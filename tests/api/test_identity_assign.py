"""The patient identity header and alert assignment through the API, with their refusals;
and the stream carrying an alert of a patient enrolled after it opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, make_app
from tests.api.sse import SseReader
from vigil.alerts import AlertService
from vigil.api import repo as api_repo
from vigil.api.state import state_of
from vigil.storage import admin, rebuild_latest_readings

pytestmark = pytest.mark.integration


def _open_alert(world: World, patient: object) -> str:
    with psycopg.connect(world.db_url) as conn:
        changes = AlertService().apply(conn, [finding(patient, cause="spo2_low")])  # type: ignore[arg-type]
        conn.commit()
    return str(changes[0].alert_id)


def test_identity_names_the_patient_their_devices_and_care_team(
    client: httpx.Client, world: World
) -> None:
    a = world.a
    r = client.patch(
        f"/api/v1/patients/{a.patient}",
        json={"birth_date": "1950-06-15", "record_number": "00123456"},
        headers=world.headers("admin"),
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC).replace(microsecond=0)
    with world.conn() as conn:
        creds = admin.provision_device(conn, tenant_id=a.id, kind="pulse_oximeter")
        admin.assign_device(
            conn,
            device_id=creds.device_id,
            patient_id=a.patient,
            valid_from=now - timedelta(days=1),
        )
        conn.execute(
            "INSERT INTO readings VALUES (%s, %s, 'spo2', 93, '%%', %s, now())",
            (now - timedelta(minutes=5), a.patient, creds.device_id),
        )
        rebuild_latest_readings(conn)
    r = client.get(f"/api/v1/patients/{a.patient}/identity", headers=world.headers("clinician"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["display_name"] == "Clinic A patient"
    assert body["birth_date"] == "1950-06-15"
    assert body["record_number"] == "00123456"
    assert 75 <= body["age"] <= 77
    assert body["conditions"] == ["copd"]
    assert [(d["id"], d["kind"]) for d in body["devices"]] == [(creds.device_id, "pulse_oximeter")]
    assert datetime.fromisoformat(body["devices"][0]["last_sync"]) == now - timedelta(minutes=5)
    assert [t["name"] for t in body["teams"]] == ["Respiratory"]
    assert [m["display_name"] for m in body["teams"][0]["members"]] == ["clinician"]


def test_identity_is_refused_outside_the_care_team_and_the_tenant(
    client: httpx.Client, world: World
) -> None:
    path = f"/api/v1/patients/{world.a.patient}/identity"
    # A clinician of the same clinic outside the patient's care team, and another clinic's.
    assert client.get(path, headers=world.headers("outsider")).status_code in (403, 404)
    assert client.get(path, headers=world.headers("clinician", "b")).status_code in (403, 404)
    assert client.get(path, headers=world.headers("patient")).status_code == 403
    other = f"/api/v1/patients/{world.a.other_patient}/identity"
    assert client.get(other, headers=world.headers("clinician")).status_code in (403, 404)


def test_an_alert_is_assigned_only_to_the_tenants_staff(client: httpx.Client, world: World) -> None:
    alert = _open_alert(world, world.a.patient)
    staff = client.get("/api/v1/alerts/assignees", headers=world.headers("clinician")).json()
    assert {s["display_name"] for s in staff} == {"admin", "clinician", "outsider"}
    path = f"/api/v1/alerts/{alert}/assign"
    h = world.headers("clinician")
    for refused in (world.b.users["clinician"], world.a.users["patient"]):
        r = client.post(path, json={"user_id": str(refused)}, headers=h)
        assert r.status_code == 404, r.text
    outsider = client.post(
        path, json={"user_id": str(world.a.users["clinician"])}, headers=world.headers("outsider")
    )
    assert outsider.status_code in (403, 404)  # cannot see the alert, so cannot assign it
    r = client.post(path, json={"user_id": str(world.a.users["clinician"])}, headers=h)
    assert r.status_code == 200, r.text
    inbox = client.get("/api/v1/alerts", headers=h).json()
    assert [(x["assigned_to"], x["patient_name"]) for x in inbox] == [
        (str(world.a.users["clinician"]), "Clinic A patient")
    ]
    events = client.get(f"/api/v1/alerts/{alert}/events", headers=h).json()
    assert events[-1]["kind"] == "assigned"
    assert events[-1]["details"] == {"assignee": str(world.a.users["clinician"])}
    r = client.post(path, json={"user_id": None}, headers=h)
    assert r.status_code == 200
    assert client.get("/api/v1/alerts", headers=h).json()[0]["assigned_to"] is None


def test_the_stream_carries_a_patient_enrolled_after_it_opened(world: World) -> None:
    app = make_app(world.db_url)
    state_of(app).stream_recheck_s = 3600.0  # the periodic re-check would not come in time
    with (
        LiveServer(app) as url,
        SseReader(
            f"{url}/api/v1/alerts/stream", world.headers("clinician"), read_timeout=5
        ) as reader,
    ):
        with world.conn() as conn:
            new = admin.create_patient(
                conn, tenant_id=world.a.id, display_name="Newly enrolled", conditions=[]
            )
            api_repo.add_team_patient(
                conn, team_id=world.a.team, patient_id=new, tenant_id=world.a.id
            )
        _open_alert(world, world.a.other_patient)  # not the clinician's: never carried
        alert = _open_alert(world, new)
        event = reader.next()
        assert event["data"]["alert_id"] == alert
        assert event["data"]["patient_id"] == str(new)
