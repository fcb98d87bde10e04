"""The admin console's endpoints: what an admin may change in their tenant, and that another
tenant's admin, a clinician and a patient are refused (and the refusals audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import World
from vigil.storage import admin


def test_another_tenants_admin_a_clinician_and_a_patient_are_refused(
    world: World, client: httpx.Client
) -> None:
    a = world.a
    with world.conn() as conn:
        webhook = conn.execute(
            "INSERT INTO webhooks (tenant_id, url, secret, level, min_severity)"
            " VALUES (%s, 'https://hooks.example/a', 'secret-a1', 0, 1) RETURNING id",
            (a.id,),
        ).fetchone()
    assert webhook is not None
    calls = [
        ("GET", f"/api/v1/users/{a.users['clinician']}", None),
        ("PATCH", f"/api/v1/users/{a.users['clinician']}", {"disabled": True}),
        ("GET", f"/api/v1/care-teams/{a.team}/members", None),
        ("DELETE", f"/api/v1/care-teams/{a.team}/members/{a.users['clinician']}", None),
        ("GET", f"/api/v1/care-teams/{a.team}/patients", None),
        ("DELETE", f"/api/v1/care-teams/{a.team}/patients/{a.patient}", None),
        ("POST", f"/api/v1/patients/{a.patient}/discharge", None),
        ("PATCH", f"/api/v1/webhooks/{webhook[0]}", {"active": False}),
    ]
    for method, path, body in calls:
        other_admin = client.request(method, path, json=body, headers=world.headers("admin", "b"))
        assert other_admin.status_code == 404, (method, path, other_admin.text)
        for who in ("clinician", "patient"):
            r = client.request(method, path, json=body, headers=world.headers(who))
            assert r.status_code == 403, (who, method, path, r.text)
    # Tenant-wide lists show only the caller's tenant.
    status = client.get("/api/v1/webhooks/status", headers=world.headers("admin", "b"))
    assert status.status_code == 200
    assert status.json() == []
    assert client.get("/api/v1/webhooks/status", headers=world.headers("clinician")).is_client_error
    audit = client.get("/api/v1/audit", headers=world.headers("admin", "b"))
    assert {e["actor_user_id"] for e in audit.json()} <= {str(u) for u in world.b.users.values()}
    # Nothing changed, and every refusal is in the audit log of the tenant it was about.
    with world.conn() as conn:
        row = conn.execute(
            "SELECT discharged_at FROM patients WHERE id = %s", (a.patient,)
        ).fetchone()
        assert row == (None,)
        assert conn.execute(
            "SELECT count(*) FROM care_team_members WHERE team_id = %s", (a.team,)
        ).fetchone() == (1,)
        denied = conn.execute(
            "SELECT count(*) FROM audit_log WHERE outcome = 'denied' AND actor_user_id = %s",
            (world.b.users["admin"],),
        ).fetchone()
        assert denied is not None
        assert denied[0] >= len(calls)


def test_admin_changes_users_teams_and_discharges_a_patient(
    world: World, client: httpx.Client
) -> None:
    a, h = world.a, world.headers("admin")
    # Disable a clinician: their token stops working at once, and they are listed as disabled.
    r = client.patch(f"/api/v1/users/{a.users['outsider']}", json={"disabled": True}, headers=h)
    assert r.status_code == 200
    assert r.json()["disabled_at"] is not None
    assert client.get("/api/v1/patients", headers=world.headers("outsider")).status_code == 401
    listed = {u["id"]: u for u in client.get("/api/v1/users", headers=h).json()}
    assert listed[str(a.users["outsider"])]["disabled_at"] is not None
    r = client.patch(
        f"/api/v1/users/{a.users['outsider']}",
        json={"disabled": False, "role": "admin", "display_name": "Dr Outsider"},
        headers=h,
    )
    assert r.json()["disabled_at"] is None
    assert r.json()["role"] == "admin"
    assert r.json()["display_name"] == "Dr Outsider"
    # Refused: a patient's role, one's own role, disabling oneself.
    for user, body in (
        (a.users["patient"], {"role": "clinician"}),
        (a.users["admin"], {"role": "clinician"}),
        (a.users["admin"], {"disabled": True}),
    ):
        assert client.patch(f"/api/v1/users/{user}", json=body, headers=h).status_code == 409

    members = client.get(f"/api/v1/care-teams/{a.team}/members", headers=h).json()
    assert [m["id"] for m in members] == [str(a.users["clinician"])]
    path = f"/api/v1/care-teams/{a.team}/members/{a.users['clinician']}"
    assert client.delete(path, headers=h).status_code == 204
    assert client.delete(path, headers=h).status_code == 404
    gone = client.get(f"/api/v1/patients/{a.patient}", headers=world.headers("clinician"))
    assert gone.status_code == 404

    # Discharge: the device's assignment ends; a second discharge is refused.
    with world.conn() as conn:
        creds = admin.provision_device(conn, tenant_id=a.id, kind="oximeter")
        admin.assign_device(
            conn,
            device_id=creds.device_id,
            patient_id=a.patient,
            valid_from=datetime.now(UTC) - timedelta(days=1),
        )
    r = client.post(f"/api/v1/patients/{a.patient}/discharge", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["devices_unassigned"] == [creds.device_id]
    assert client.get(f"/api/v1/patients/{a.patient}", headers=h).json()["discharged_at"]
    devices = {d["id"]: d for d in client.get("/api/v1/devices", headers=h).json()}
    assert devices[creds.device_id]["patient_id"] is None
    assert client.post(f"/api/v1/patients/{a.patient}/discharge", headers=h).status_code == 409
    # Monitoring has ended: the patient leaves the care team's list and triage, and stays on
    # record (their page, and the list with discharged=true, which the admin console reads).
    # (The clinician left the team above; the admin sees the whole tenant.)
    listed = {p["id"] for p in client.get("/api/v1/patients", headers=h).json()}
    assert str(a.patient) not in listed
    assert str(a.other_patient) in listed
    everyone = client.get("/api/v1/patients?discharged=true", headers=h).json()
    assert str(a.patient) in {p["id"] for p in everyone}
    triage = client.get("/api/v1/triage", headers=h).json()
    triaged = {p["id"] for g in triage["groups"] for p in g["patients"]}
    assert str(a.patient) not in triaged
    assert str(a.other_patient) in triaged

    team_patients = client.get(f"/api/v1/care-teams/{a.team}/patients", headers=h).json()
    assert [p["id"] for p in team_patients] == [str(a.patient)]
    r = client.delete(f"/api/v1/care-teams/{a.team}/patients/{a.patient}", headers=h)
    assert r.status_code == 204
    assert client.get(f"/api/v1/care-teams/{a.team}/patients", headers=h).json() == []


def test_audit_filters_and_paging_and_webhook_status(world: World, client: httpx.Client) -> None:
    a, h = world.a, world.headers("admin")
    for _ in range(3):
        client.get(f"/api/v1/patients/{a.patient}", headers=world.headers("clinician"))
    client.get(f"/api/v1/patients/{a.other_patient}", headers=world.headers("clinician"))  # 404

    def audit(**params: str | int) -> list[dict[str, object]]:
        r = client.get("/api/v1/audit", params=params, headers=h)
        assert r.status_code == 200, r.text
        rows: list[dict[str, object]] = r.json()
        return rows

    mine = audit(actor_user_id=str(a.users["clinician"]), action="get_patient")
    assert len(mine) == 4
    assert {e["actor_email"] for e in mine} == {f"clinician.{a.id.hex[:6]}@clinic.example"}
    assert [
        e["outcome"] for e in audit(actor_user_id=str(a.users["clinician"]), outcome="denied")
    ] == ["denied"]
    assert len(audit(patient_id=str(a.patient), action="get_patient")) == 3
    first = audit(actor_user_id=str(a.users["clinician"]), limit=2)
    second = audit(actor_user_id=str(a.users["clinician"]), limit=2, before_id=str(first[-1]["id"]))
    assert len(first) == 2
    assert len(second) == 2
    assert max(int(str(e["id"])) for e in second) < min(int(str(e["id"])) for e in first)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert audit(since=future) == []
    assert len(audit(until=future, actor_user_id=str(a.users["clinician"]))) == 4
    assert client.get("/api/v1/audit", params={"since": "yesterday"}, headers=h).status_code == 422

    with world.conn() as conn:
        hook = conn.execute(
            "INSERT INTO webhooks (tenant_id, url, secret, level, min_severity)"
            " VALUES (%s, 'https://hooks.example/a', 'secret-a1', 0, 1) RETURNING id",
            (a.id,),
        ).fetchone()
    assert hook is not None
    [status] = client.get("/api/v1/webhooks/status", headers=h).json()
    assert status["id"] == str(hook[0])
    assert status["active"] is True
    assert (status["pending"], status["delivered"], status["dead"]) == (0, 0, 0)
    r = client.patch(f"/api/v1/webhooks/{hook[0]}", json={"active": False}, headers=h)
    assert r.status_code == 204
    [status] = client.get("/api/v1/webhooks/status", headers=h).json()
    assert status["active"] is False
