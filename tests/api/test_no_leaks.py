"""What an attacker learns from errors: nothing about other tenants' records, nothing of an
internal error's text (a 500 with a correlation id, the traceback in the log)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.api.conftest import LiveServer, World, make_app

pytestmark = pytest.mark.integration


def test_an_internal_error_is_a_500_with_a_reference_and_no_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(world.db_url)

    def broken() -> None:
        # What a bug looks like: a ValueError from deep inside, with internals in its text.
        raise ValueError("invalid literal for int() with base 10: 'postgres://secret@db'")

    app.add_api_route("/api/v1/broken", broken, methods=["GET"])
    caplog.set_level(logging.ERROR, logger="vigil.api.edge")
    with LiveServer(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        r = client.get("/api/v1/broken")
        assert r.status_code == 500
        error = r.json()["error"]
        assert error["code"] == "internal"
        assert "secret" not in r.text
        assert "invalid literal" not in r.text
        reference = r.headers["x-correlation-id"]
        assert reference in error["message"]
        assert r.headers["x-content-type-options"] == "nosniff"  # headers on errors too
        # The process keeps serving.
        assert client.get("/health").status_code == 200
    logged = [rec for rec in caplog.records if reference in rec.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "postgres://secret@db" in str(logged[0].exc_info[1])


def _conflict(client: httpx.Client, path: str, body: dict[str, object], headers: object) -> str:
    r = client.post(path, json=body, headers=headers)  # type: ignore[arg-type]
    assert r.status_code == 409, r.text
    return str(r.json())


def test_conflicts_say_the_same_whichever_tenant_holds_the_record(
    client: httpx.Client, world: World
) -> None:
    admin_a, admin_b = world.headers("admin", "a"), world.headers("admin", "b")
    for device_id in ("devA1", "devB1"):
        owner = admin_a if device_id == "devA1" else admin_b
        r = client.post(
            "/api/v1/devices", json={"kind": "oximeter", "device_id": device_id}, headers=owner
        )
        assert r.status_code == 201, r.text
    # Tenant B's admin tries its own device's id and tenant A's.
    devices = "/api/v1/devices"
    own = _conflict(client, devices, {"kind": "oximeter", "device_id": "devB1"}, admin_b)
    other = _conflict(client, devices, {"kind": "oximeter", "device_id": "devA1"}, admin_b)
    assert own.replace("devB1", "ID") == other.replace("devA1", "ID")
    assert "exists" not in other

    # E-mails: tenant B's admin reuses a tenant-B and a tenant-A user's address.
    user = {"display_name": "X", "role": "clinician", "password": "long enough password"}
    own_email = f"clinician.{world.b.id.hex[:6]}@clinic.example"
    other_email = f"clinician.{world.a.id.hex[:6]}@clinic.example"
    own = _conflict(client, "/api/v1/users", {**user, "email": own_email}, admin_b)
    other = _conflict(client, "/api/v1/users", {**user, "email": other_email}, admin_b)
    assert own == other
    assert "exists" not in other


def test_a_bad_device_id_is_a_client_error_of_our_own(client: httpx.Client, world: World) -> None:
    r = client.post(
        "/api/v1/devices",
        json={"kind": "oximeter", "device_id": "no spaces/allowed"},
        headers=world.headers("admin"),
    )
    assert r.status_code in (400, 422), r.text
    assert r.json()["error"]["code"] in ("bad_request", "invalid_request")
