"""The authorisation matrix, enumerated from the OpenAPI spec.

Every operation that touches a patient (a ``patient_id`` or ``alert_id`` in its path, a
``patient_id`` query parameter or body field) is called by: an admin and a clinician of another
tenant, a clinician outside the patient's care team, another patient, and an anonymous caller.
None may get a 2xx, and every attempt must leave a 'denied' row in the audit log.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import World
from vigil.alerts import AlertService
from vigil.storage import admin

pytestmark = pytest.mark.integration

BODIES: dict[str, dict[str, Any]] = {
    "update_patient_api_v1_patients__patient_id__patch": {"display_name": "X"},
    "put_care_plan_api_v1_patients__patient_id__care_plan_put": {
        "targets": {"spo2": {"low": 92}},
        "thresholds": {"spo2": {"low": 88}},
    },
    "preview_care_plan_api_v1_patients__patient_id__care_plan_preview_post": {
        "thresholds": {"spo2": {"low": 85}},
    },
    "put_instructions_api_v1_patients__patient_id__care_plan_instructions_put": {
        "instructions": {"spo2_low": {"en": "x"}},
    },
    "acknowledge_api_v1_alerts__alert_id__acknowledge_post": {"note": "x"},
    "snooze_api_v1_alerts__alert_id__snooze_post": {"minutes": 5},
    "resolve_api_v1_alerts__alert_id__resolve_post": {"outcome": "actionable"},
    "comment_api_v1_alerts__alert_id__comments_post": {"note": "x"},
    "assign_api_v1_alerts__alert_id__assign_post": {"user_id": None},
    "add_patient_api_v1_care_teams__team_id__patients_post": {"patient_id": "{patient_id}"},
    "assign_api_v1_devices__device_id__assignments_post": {"patient_id": "{patient_id}"},
    "create_user_api_v1_users_post": {
        "email": "new.patient@clinic.example",
        "display_name": "New",
        "role": "patient",
        "password": "long enough password",
        "patient_id": "{patient_id}",
    },
    "provision_api_v1_devices_post": {"kind": "oximeter", "patient_id": "{patient_id}"},
}
ATTACKERS = [("admin", "b"), ("clinician", "b"), ("outsider", "a"), ("other_patient", "a")]


def _body_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = content.get("schema", {}).get("$ref")
    if not ref:
        return {}
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def patient_operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = {p["name"] for p in op.get("parameters", [])}
            body = _body_schema(spec, op).get("properties", {})
            if {"patient_id", "alert_id"} & params or "patient_id" in body:
                found.append((method.upper(), path, op))
    return found


def count_denied(world: World) -> int:
    with world.conn() as conn:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE outcome = 'denied'").fetchone()
    assert row is not None
    return int(row[0])


def test_no_one_outside_the_care_team_reaches_a_patient(client: httpx.Client, world: World) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    operations = patient_operations(spec)
    assert len(operations) >= 15, [f"{m} {p}" for m, p, _ in operations]
    with world.conn() as conn:
        [change] = AlertService().apply(conn, [finding(world.a.patient)])
        device = admin.provision_device(conn, tenant_id=world.a.id, kind="oximeter").device_id
    values = {
        "patient_id": str(world.a.patient),
        "alert_id": str(change.alert_id),
        "team_id": str(world.a.team),
        "device_id": device,
    }
    unexpected = []
    attempts = 0
    for method, template, op in operations:
        path = template.format(**values)
        params = {
            p["name"]: values[p["name"]]
            for p in op.get("parameters", [])
            if p["in"] == "query" and p["name"] in ("patient_id", "alert_id")
        }
        body = {
            k: v.format(**values) if isinstance(v, str) else v
            for k, v in BODIES.get(op["operationId"], {}).items()
        }
        if "requestBody" in op and op["requestBody"].get("required") and not body:
            pytest.fail(f"add a valid body for {op['operationId']} to BODIES")
        callers: list[tuple[str, dict[str, str]]] = [
            (f"{who}@{tenant}", world.headers(who, tenant)) for who, tenant in ATTACKERS
        ]
        callers.append(("anonymous", {}))
        for name, headers in callers:
            before = count_denied(world)
            r = client.request(
                method, path, params=params, json=body or None, headers=headers, timeout=10
            )
            attempts += 1
            if r.is_success:
                unexpected.append(f"{name}: {method} {path} -> {r.status_code}")
            assert r.status_code < 500, f"{name}: {method} {path} -> {r.status_code} {r.text}"
            if not r.is_success:
                assert "error" in r.json(), r.text
            if count_denied(world) != before + 1:
                unexpected.append(f"{name}: {method} {path} not audited")
    assert unexpected == []
    assert attempts == len(operations) * 5


def test_the_care_team_does_reach_its_patient(client: httpx.Client, world: World) -> None:
    """The control: the same reads succeed for the patient's own clinician and patient."""
    nurse = world.headers("clinician")
    for path in (
        "",
        "/care-plan",
        "/readings",
        "/readings/rollup?metric=spo2",
        "/fhir/observations",
        "/reports/hf-weight",
    ):
        r = client.get(f"/api/v1/patients/{world.a.patient}{path}", headers=nurse)
        assert r.status_code == 200, (path, r.text)
    for path in ("/api/v1/me/readings", "/api/v1/me/feed", "/api/v1/me/reports/hf-weight"):
        assert client.get(path, headers=world.headers("patient")).status_code == 200
        assert client.get(path, headers=nurse).status_code == 403
    with world.conn() as conn:
        row = conn.execute(
            "SELECT count(*) FROM audit_log WHERE outcome = 'allowed' AND patient_id = %s"
            " AND actor_user_id = %s",
            (world.a.patient, world.a.users["clinician"]),
        ).fetchone()
    assert row is not None
    assert row[0] == 6
