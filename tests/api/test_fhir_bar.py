"""The issue's bar, black-box: a patient with a cuff, an oximeter, a scale, a thermometer, a
CGM and a glucometer publishes through the real broker and ingest; an EMR's service account
reads ``/fhir/r4/Observation`` page by page, a clinician the REST export, and both hold."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.conftest import FAST_HASH, LiveServer, make_app
from tests.conftest import Harness
from tests.fhir.validation import assert_valid_r4b
from tests.waiting import wait_for
from vigil.api import Role
from vigil.api import repo as api_repo
from vigil.api.security import new_token, token_digest
from vigil.fhir import readings, unresolved_references, violations
from vigil.ingest import DevicePublisher, Ingest
from vigil.storage import admin

KINDS = ("bp_cuff", "oximeter", "scale", "thermometer", "cgm", "glucometer")
HL7 = "http://hl7.org/fhir/StructureDefinition/"
KRCORE = "http://www.hl7korea.or.kr/fhir/krcore/StructureDefinition/krcore-"
BP_CODES = {"85354-9", "8480-6", "8462-4"}


def _payloads(now: datetime) -> dict[str, list[dict[str, Any]]]:
    def at(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    return {
        "bp_cuff": [
            {"ts": at(m), "metric": "blood_pressure", "systolic": s, "diastolic": d, "pulse": p,
             "unit": "mm[Hg]"}
            for m, s, d, p in ((50, 138, 86, 71), (20, 152, 95, 78))
        ],
        "oximeter": [
            r
            for m, spo2 in ((45, 93), (15, 88))
            for r in (
                {"ts": at(m), "metric": "spo2", "value": spo2, "unit": "%"},
                {"ts": at(m), "metric": "heart_rate", "value": 80, "unit": "/min"},
                {"ts": at(m), "metric": "respiratory_rate", "value": 19, "unit": "/min"},
            )
        ],
        "scale": [{"ts": at(40), "metric": "body_weight", "value": 176.4, "unit": "[lb_av]"}],
        "thermometer": [{"ts": at(35), "metric": "body_temperature", "value": 37.8, "unit": "Cel"}],
        "cgm": [
            {"ts": at(m), "metric": "glucose", "value": v, "unit": "mg/dL"}
            for m, v in ((30, 154), (25, 98), (10, "LOW"), (5, "HIGH"))
        ],
        "glucometer": [{"ts": at(12), "metric": "glucose", "value": 5.5, "unit": "mmol/L"}],
    }  # fmt: skip


def _staff_token(conn: psycopg.Connection[Any], tenant_id: uuid.UUID, role: Role) -> str:
    user_id = api_repo.create_user(
        conn, tenant_id=tenant_id, email=f"{uuid.uuid4().hex[:10]}@clinic.example",
        display_name="staff", role=role, password_hash=FAST_HASH,
    )  # fmt: skip
    token = new_token()
    expires = datetime.now(UTC) + timedelta(hours=1)
    api_repo.store_token(conn, digest=token_digest(token), user_id=user_id, expires_at=expires)
    return token


@pytest.fixture
def clinic(harness: Harness) -> Iterator[dict[str, Any]]:
    """Readings of all six devices stored through the broker and ingest; an API serving."""
    with psycopg.connect(harness.db_url, autocommit=True) as conn:
        patient = admin.create_patient(
            conn, tenant_id=harness.tenant_id, display_name="김민준", conditions=["t2d"]
        )
        devices = {}
        for kind in KINDS:
            creds = admin.provision_device(conn, tenant_id=harness.tenant_id, kind=kind)
            admin.assign_device(
                conn, device_id=creds.device_id, patient_id=patient,
                valid_from=datetime.now(UTC) - timedelta(days=1),
            )  # fmt: skip
            devices[kind] = creds
        team = api_repo.create_team(conn, tenant_id=harness.tenant_id, name="Diabetes")
        api_repo.add_team_patient(
            conn, team_id=team, patient_id=patient, tenant_id=harness.tenant_id
        )
        admin_token = _staff_token(conn, harness.tenant_id, Role.ADMIN)
        other_tenant = admin.create_tenant(conn, name="Other clinic")
        stranger = admin.create_patient(
            conn, tenant_id=other_tenant, display_name="stranger", conditions=["copd"]
        )
    harness.sync()
    ingest = Ingest(
        harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target,
        sink=lambda batch: None,
    )  # fmt: skip
    ingest.start()
    assert ingest.transport.subscribed.wait(10), "ingest never subscribed"
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        sent = 0
        for kind, batch in _payloads(now).items():
            creds = devices[kind]
            pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
            pub.connect()
            pub.publish(json.dumps({"readings": batch}).encode()).wait_for_publish(5)
            pub.close()
            sent += 1
        wait_for(lambda: ingest.service.stats.messages >= sent, f"{sent} messages ingested")
        with LiveServer(make_app(harness.db_url)) as url:
            yield {
                "url": url, "patient": patient, "team": team, "admin": admin_token,
                "stranger": stranger, "devices": devices, "db_url": harness.db_url,
            }  # fmt: skip
    finally:
        ingest.stop()


def _bar(bundle: dict[str, Any], patient: uuid.UUID, devices: dict[str, Any]) -> int:
    """The issue's checks on one Bundle; returns how many Observations it held."""
    assert_valid_r4b(bundle)  # every resource, structurally (fhir.resources R4B)
    resources = [e["resource"] for e in bundle["entry"]]
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert [r["id"] for r in resources if r["resourceType"] == "Patient"] == [str(patient)]
    assert unresolved_references(bundle) == []
    device_ids = {r["id"] for r in resources if r["resourceType"] == "Device"}
    assert {o["device"]["reference"].removeprefix("Device/") for o in observations} <= device_ids
    cgm_ref = f"Device/{devices['cgm'].device_id.replace('_', '.')}"
    for obs in observations:
        assert violations(obs) == [], (obs, violations(obs))
        codes = {c["code"] for c in obs["code"]["coding"]}
        if codes & BP_CODES:
            parts = {c["code"]["coding"][0]["code"] for c in obs.get("component", [])}
            assert "85354-9" in codes, obs
            assert {"8480-6", "8462-4"} <= parts, obs
        quantities = [obs.get("valueQuantity")] + [
            c["valueQuantity"] for c in obs.get("component", [])
        ]
        assert all(q["system"] == "http://unitsofmeasure.org" for q in quantities if q)
        categories = {c["code"] for cat in obs["category"] for c in cat["coding"]}
        profiles = obs.get("meta", {}).get("profile", [])
        if "vital-signs" in categories:
            assert any(p.startswith(HL7) for p in profiles), obs
            assert any(p.startswith(KRCORE) for p in profiles), obs
        if "59408-5" in codes:
            assert "2708-6" in codes
        if obs["device"]["reference"] == cgm_ref:
            assert codes == {"99504-3"}
            assert obs["valueQuantity"]["code"] == "mg/dL"
        elif codes & {"2339-0", "41653-7", "99504-3"}:
            assert codes == {"41653-7"}  # the meter: capillary blood
    return len(observations)


def _stored(db_url: str, patient: uuid.UUID) -> set[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT time, metric, value, device_id, censored FROM readings WHERE patient_id = %s",
            (patient,),
        ).fetchall()
    return {tuple(r) for r in rows}


def test_an_emr_reads_conforming_fhir_for_all_six_devices(clinic: dict[str, Any]) -> None:
    patient, devices = clinic["patient"], clinic["devices"]
    with httpx.Client(base_url=clinic["url"], timeout=10) as client:
        admin_headers = {"Authorization": f"Bearer {clinic['admin']}"}
        created = client.post(
            "/api/v1/service-accounts", headers=admin_headers,
            json={"name": "Seoul Hospital EMR", "care_team_ids": [str(clinic["team"])]},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        emr = {"Authorization": f"Bearer {created.json()['token']}"}

        export = client.get(f"/api/v1/patients/{patient}/fhir/observations", headers=admin_headers)
        assert export.status_code == 200
        assert export.headers["content-type"].startswith("application/fhir+json")
        # 2 panels + 2 pulses, 2 x (SpO2, heart rate, respiratory rate), weight, temperature,
        # 4 CGM readings (one LOW, one HIGH), one meter reading.
        assert _bar(export.json(), patient, devices) == 4 + 6 + 1 + 1 + 4 + 1

        pages, seen, url = 0, [], f"/fhir/r4/Observation?patient={patient}&_count=4"
        while url:
            page = client.get(url, headers=emr)
            assert page.status_code == 200, page.text
            assert page.headers["content-type"].startswith("application/fhir+json")
            bundle = page.json()
            assert bundle["type"] == "searchset"
            _bar(bundle, patient, devices)
            seen += [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
            url = next((lk["url"] for lk in bundle["link"] if lk["relation"] == "next"), "")
            pages += 1
        assert pages == 5  # 17 Observations, 4 a page
        assert sorted(o["id"] for o in seen) == sorted(
            e["resource"]["id"]
            for e in export.json()["entry"]
            if e["resource"]["resourceType"] == "Observation"
        )
        parsed = readings({"entry": [{"resource": o} for o in seen]})
        assert {(r.time, r.metric.value, r.value, r.device_id, r.censored) for r in parsed} == (
            _stored(clinic["db_url"], patient)
        )

        vitals = client.get(
            "/fhir/r4/Observation", headers=emr,
            params={"patient": f"Patient/{patient}", "category": "vital-signs", "code": "2708-6"},
        ).json()  # fmt: skip
        spo2 = [e["resource"] for e in vitals["entry"] if e["search"]["mode"] == "match"]
        assert [o["valueQuantity"]["value"] for o in spo2] == [88, 93]

        for path in (f"/fhir/r4/Patient/{clinic['stranger']}", "/fhir/r4/Observation"):
            r = client.get(path, headers=emr, params={"patient": str(clinic["stranger"])})
            assert r.status_code == 404, r.text
            assert r.json()["resourceType"] == "OperationOutcome"
        r = client.get(
            f"/api/v1/patients/{clinic['stranger']}/fhir/observations", headers=admin_headers
        )
        assert r.status_code == 404
