"""The FHIR read API's edges: service accounts, who is refused what (and that it is audited),
searches that narrow and page, bad input answered as OperationOutcome, alerts as
DetectedIssues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import World
from tests.fhir.validation import assert_valid_r4b
from vigil.alerts import AlertService
from vigil.api.security import token_digest
from vigil.fhir import unresolved_references
from vigil.storage import admin

AT = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


@pytest.fixture
def emr(client: httpx.Client, world: World) -> dict[str, str]:
    """A service account of clinic A's care team, its token, and an oximeter's readings."""
    r = client.post(
        "/api/v1/service-accounts",
        headers=world.headers("admin"),
        json={"name": "EMR", "care_team_ids": [str(world.a.team)], "valid_days": 30},
    )
    assert r.status_code == 201, r.text
    with world.conn() as conn:
        device = admin.provision_device(conn, tenant_id=world.a.id, kind="oximeter").device_id
        admin.assign_device(
            conn, device_id=device, patient_id=world.a.patient, valid_from=AT - timedelta(days=1)
        )
        for minutes, value in ((0, 95.0), (60, 91.0), (120, 87.0)):
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at) VALUES (%s, %s, 'spo2', %s, '%%', %s, now())",
                (AT + timedelta(minutes=minutes), world.a.patient, value, device),
            )
    return {"Authorization": f"Bearer {r.json()['token']}", "token": r.json()["token"],
            "user": r.json()["user_id"], "device": device}  # fmt: skip


def _headers(emr: dict[str, str]) -> dict[str, str]:
    return {"Authorization": emr["Authorization"]}


def _matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]


def test_a_service_account_is_made_by_an_admin_its_token_shown_once_and_hashed(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    with world.conn() as conn:
        stored = conn.execute(
            "SELECT t.token_hash, u.service_account, u.role FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id WHERE u.id = %s",
            (emr["user"],),
        ).fetchall()
    assert stored == [(token_digest(emr["token"]), True, "clinician")]
    body = {"name": "x", "care_team_ids": [str(world.a.team)]}
    nurse = client.post("/api/v1/service-accounts", headers=world.headers("clinician"), json=body)
    assert nurse.status_code == 403
    other = {"name": "x", "care_team_ids": [str(world.b.team)]}
    r = client.post("/api/v1/service-accounts", headers=world.headers("admin"), json=other)
    assert r.status_code == 404  # another tenant's team is not there
    for bad in (
        {**body, "role": "admin"},  # no field but its own
        {**body, "name": "EMR\x00"},
        {**body, "name": "x" * 101},
        {**body, "name": "\u200b\u3164 "},  # invisible only (zero-width space, Hangul filler)
        {**body, "name": "EMR\u202e"},  # a bidi override
        {**body, "care_team_ids": []},
        {**body, "care_team_ids": ["not-a-uuid"]},
        {**body, "valid_days": 10_000},
    ):
        r = client.post("/api/v1/service-accounts", headers=world.headers("admin"), json=bad)
        assert r.status_code == 422, bad
    for who in ("patient", "outsider"):
        r = client.post("/api/v1/service-accounts", headers=world.headers(who), json=body)
        assert r.status_code == 403, who
    assert client.post("/api/v1/service-accounts", json=body).status_code == 401
    # Its token reads FHIR only: the REST API and the dashboard's reads refuse it.
    for path in (f"/api/v1/patients/{world.a.patient}", "/api/v1/me"):
        assert client.get(path, headers=_headers(emr)).status_code == 401


def test_the_fhir_api_refuses_who_may_not_see_the_patient_and_audits_it(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    own = client.get("/fhir/r4/Observation", params={"patient": world.a.patient},
                     headers=_headers(emr))  # fmt: skip
    assert own.status_code == 200
    assert len(_matches(own.json())) == 3
    refused = [
        ({}, world.a.patient, 401),
        ({"Authorization": "Bearer not-a-token"}, world.a.patient, 401),
        (world.headers("patient"), world.a.patient, 401),  # patients use /me, not FHIR
        (world.headers("outsider"), world.a.patient, 404),  # not their care team
        (world.headers("admin", "b"), world.a.patient, 404),  # another tenant
        (_headers(emr), world.a.other_patient, 404),  # not the account's care team
        (_headers(emr), world.b.patient, 404),
        (_headers(emr), "not-a-uuid", 404),
    ]
    with world.conn() as conn:
        before = conn.execute("SELECT count(*) FROM audit_log WHERE outcome = 'denied'").fetchone()
    for headers, patient, status in refused:
        for path in (f"/fhir/r4/Patient/{patient}", "/fhir/r4/Observation",
                     "/fhir/r4/DetectedIssue"):  # fmt: skip
            r = client.get(path, params={"patient": str(patient)}, headers=headers)
            assert r.status_code == status, (headers, patient, path, r.text)
            assert r.headers["content-type"].startswith("application/fhir+json")
            assert r.json()["resourceType"] == "OperationOutcome"
            assert "Patient" not in r.text or "no patient" in r.text
    with world.conn() as conn:
        after = conn.execute("SELECT count(*) FROM audit_log WHERE outcome = 'denied'").fetchone()
        allowed = conn.execute(
            "SELECT count(*) FROM audit_log WHERE outcome = 'allowed' AND actor_user_id = %s"
            " AND patient_id = %s AND path = '/fhir/r4/Observation'",
            (emr["user"], world.a.patient),
        ).fetchone()
    assert before is not None
    assert after is not None
    assert after[0] - before[0] == len(refused) * 3
    assert allowed == (1,)


def test_a_device_is_read_by_those_who_see_its_patient_only(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    fhir_id = emr["device"].replace("_", ".")
    r = client.get(f"/fhir/r4/Device/{fhir_id}", headers=_headers(emr))
    assert r.status_code == 200
    assert_valid_r4b(r.json())
    assert r.json()["identifier"][0]["value"] == emr["device"]
    for headers, device_id in (
        (world.headers("admin", "b"), fhir_id),
        (world.headers("outsider"), fhir_id),
        (_headers(emr), "no.such-device"),
        (_headers(emr), "bad_id"),  # not a FHIR id: never one we issue
    ):
        r = client.get(f"/fhir/r4/Device/{device_id}", headers=headers)
        assert r.status_code == 404, (headers, device_id)
        assert r.json()["resourceType"] == "OperationOutcome"


def test_searches_narrow_by_date_and_code_and_page_with_next_links(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    def values(**params: Any) -> list[float]:
        r = client.get("/fhir/r4/Observation", headers=_headers(emr),
                       params={"patient": str(world.a.patient), **params})  # fmt: skip
        assert r.status_code == 200, r.text
        return [o["valueQuantity"]["value"] for o in _matches(r.json())]

    start, end = AT + timedelta(minutes=30), AT + timedelta(minutes=60)
    assert values() == [87, 91, 95]
    assert values(date=[f"ge{start.isoformat()}", f"le{end.isoformat()}"]) == [91]
    assert values(date=f"lt{end.isoformat()}") == [95]
    assert values(date=f"gt{end.isoformat()}") == [87]
    assert values(date=AT.date().isoformat()) == [
        v for v, t in ((87, 120), (91, 60), (95, 0))
        if (AT + timedelta(minutes=t)).date() == AT.date()
    ]  # fmt: skip
    assert values(code="http://loinc.org|59408-5") == [87, 91, 95]
    assert values(code="8867-4") == []
    assert values(code="http://snomed.info/sct|2708-6") == []
    assert values(category="laboratory") == []
    first = client.get("/fhir/r4/Observation", headers=_headers(emr),
                       params={"patient": str(world.a.patient), "_count": 2}).json()  # fmt: skip
    [next_url] = [lk["url"] for lk in first["link"] if lk["relation"] == "next"]
    second = client.get(next_url, headers=_headers(emr)).json()
    assert [o["valueQuantity"]["value"] for o in _matches(first) + _matches(second)] == [87, 91, 95]
    assert [lk["relation"] for lk in second["link"]] == ["self"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"date": "xx2026-11-01"}, 400),
        ({"date": "ge2026-13-01"}, 400),
        ({"date": "ge2026-11-01T10:00:00"}, 400),  # no zone
        ({"_cursor": "bm90LWEtY3Vyc29y"}, 400),
        ({"_cursor": "%%%"}, 400),
        ({"_count": "0"}, 400),
        ({"_count": "100000"}, 400),
        ({"patient": None}, 400),
    ],
)
def test_bad_search_input_is_a_400_operation_outcome(
    client: httpx.Client, world: World, emr: dict[str, str], params: dict[str, Any], status: int
) -> None:
    query = {"patient": str(world.a.patient), **params}
    query = {k: v for k, v in query.items() if v is not None}
    r = client.get("/fhir/r4/Observation", params=query, headers=_headers(emr))
    assert r.status_code == status, r.text
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert_valid_r4b(outcome)


def test_the_server_is_read_only_and_says_what_it_does(
    client: httpx.Client, emr: dict[str, str]
) -> None:
    meta = client.get("/fhir/r4/metadata")
    assert meta.status_code == 200
    assert meta.headers["content-type"].startswith("application/fhir+json")
    assert_valid_r4b(meta.json())
    resources = {r["type"]: r for r in meta.json()["rest"][0]["resource"]}
    assert set(resources) == {"Patient", "Device", "Observation", "DetectedIssue"}
    for method in ("POST", "PUT", "DELETE"):
        r = client.request(method, "/fhir/r4/Observation", headers=_headers(emr))
        assert r.status_code == 405
        assert r.json()["resourceType"] == "OperationOutcome"
    r = client.get("/fhir/r4/MedicationRequest", headers=_headers(emr))
    assert r.status_code == 404


def test_an_alert_is_a_detected_issue_citing_its_readings(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    with world.conn() as conn:
        AlertService().apply(conn, [finding(world.a.patient, value=87.0,
                                            time=AT + timedelta(minutes=120))])  # fmt: skip
    r = client.get("/fhir/r4/DetectedIssue", params={"patient": str(world.a.patient)},
                   headers=_headers(emr))  # fmt: skip
    assert r.status_code == 200, r.text
    bundle = r.json()
    assert_valid_r4b(bundle)
    assert unresolved_references(bundle) == []
    [issue] = _matches(bundle)
    assert issue["severity"] == "high"
    assert issue["status"] == "preliminary"
    assert issue["detail"] == "SpO2 87 % is below 90 %"
    [evidence] = issue["evidence"][0]["detail"]
    cited = next(
        e["resource"] for e in bundle["entry"]
        if f"Observation/{e['resource']['id']}" == evidence["reference"]
    )  # fmt: skip
    assert cited["valueQuantity"]["value"] == 87


def test_an_admin_chooses_fhir_as_a_webhook_destinations_format(
    client: httpx.Client, world: World
) -> None:
    admin_headers = world.headers("admin")
    hook = {"url": "https://93.184.215.14/emr", "secret": "s3cret-key", "payload_format": "fhir"}
    r = client.post("/api/v1/webhooks", json=hook, headers=admin_headers)
    assert r.status_code == 201, r.text
    assert r.json()["payload_format"] == "fhir"
    plain = {"url": "https://93.184.215.14/pager", "secret": "s3cret-key"}
    assert client.post("/api/v1/webhooks", json=plain, headers=admin_headers).status_code == 201
    listed = client.get("/api/v1/webhooks", headers=admin_headers).json()
    assert [w["payload_format"] for w in listed] == ["fhir", "vigil"]
    status = client.get("/api/v1/webhooks/status", headers=admin_headers).json()
    assert [w["payload_format"] for w in status] == ["fhir", "vigil"]
    bad = {**hook, "payload_format": "hl7v2"}
    assert client.post("/api/v1/webhooks", json=bad, headers=admin_headers).status_code == 422


def test_a_role_change_ends_a_service_accounts_token_as_any_staff_members(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    def read() -> int:
        params = {"patient": str(world.a.patient)}
        return client.get("/fhir/r4/Observation", params=params, headers=_headers(emr)).status_code

    assert read() == 200
    r = client.patch(
        f"/api/v1/users/{emr['user']}", json={"role": "admin"}, headers=world.headers("admin")
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin"
    assert read() == 401
