"""Authentication, the error shape, health, and the audit log's protection."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest

from tests.api.conftest import PASSWORD, World

pytestmark = pytest.mark.integration


def test_sign_in_use_and_sign_out(client: httpx.Client, world: World) -> None:
    r = client.post(
        "/api/v1/auth/token",
        json={"email": f"clinician.{world.a.id.hex[:6]}@clinic.example", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    me = client.get("/api/v1/me", headers=headers)
    assert me.json()["role"] == "clinician"
    assert client.get("/api/v1/tenant", headers=headers).json()["name"] == "Clinic A"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    log = client.get("/api/v1/audit", headers=world.headers("admin")).json()
    clinician = str(world.a.users["clinician"])
    # (The refused request after sign-out names no patient, hence no tenant: it is in the
    # log, but not in this tenant's view of it.)
    assert [(e["action"], e["actor_user_id"]) for e in log[:2]] == [
        ("logout", clinician),
        ("issue_token", clinician),
    ]


def test_wrong_password_and_bad_input_get_the_one_error_shape(
    client: httpx.Client, world: World
) -> None:
    r = client.post("/api/v1/auth/token", json={"email": "x@y.z", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"
    r = client.get("/api/v1/patients/not-a-uuid", headers=world.headers("admin"))
    assert r.status_code == 422
    body = r.json()["error"]
    assert body["code"] == "invalid_request"
    assert body["details"][0]["loc"] == ["path", "patient_id"]
    r = client.get("/api/v1/nowhere")
    assert r.json() == {"error": {"code": "not_found", "message": "Not Found", "details": []}}


def test_dashboard_page(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script src="/static/inbox.js">' in r.text
    assert '<script src="/static/live.js">' in r.text
    assert "/alerts/stream" in client.get("/static/live.js").text


def test_health_ready_metrics(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code in (200, 503)
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"}).text
    assert "vigil_alerts_opened_total" in text
    assert "vigil_database_up 1.0" in text
    assert "process_cpu_seconds_total" in text  # the default registry, too


def test_the_api_role_cannot_rewrite_the_audit_log(client: httpx.Client, world: World) -> None:
    client.get(f"/api/v1/patients/{world.a.patient}", headers=world.headers("clinician"))
    with world.conn() as conn:
        conn.execute("SET ROLE vigil_api")
        rows: Any = conn.execute("SELECT count(*) FROM audit_log").fetchone()
        assert rows[0] >= 1
        for sql in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("TRUNCATE audit_log")


def test_every_change_is_audited(client: httpx.Client, world: World) -> None:
    admin = world.headers("admin")
    assert client.post("/api/v1/care-teams", json={"name": "Night"}, headers=admin).is_success
    # A public address (no name to resolve): webhooks may not point inside.
    hook = {"url": "https://93.184.215.14/in", "secret": "s3cret-key"}
    assert client.post("/api/v1/webhooks", json=hook, headers=admin).is_success
    log = client.get("/api/v1/audit", headers=admin).json()
    actions = [(e["action"], e["actor_user_id"], e["outcome"]) for e in log[:2]]
    user = str(world.a.users["admin"])
    assert actions == [("create_webhook", user, "allowed"), ("create_team", user, "allowed")]
