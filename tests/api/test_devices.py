"""Devices through the API against the real broker: provisioned credentials work at once,
revoked ones stop working."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.api.conftest import LiveServer, World, make_app
from vigil.ingest import DevicePublisher
from vigil.servers import EmbeddedMosquitto, sync_broker_credentials

pytestmark = pytest.mark.integration


def test_provision_assign_revoke(world: World, broker: EmbeddedMosquitto) -> None:
    def sync(conn: Any) -> None:
        sync_broker_credentials(conn, broker.root)

    app = make_app(world.db_url, sync_broker=sync)
    admin = world.headers("admin")
    with LiveServer(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        r = client.post(
            "/api/v1/devices",
            json={"kind": "oximeter", "patient_id": str(world.a.patient)},
            headers=admin,
        )
        assert r.status_code == 201, r.text
        creds = r.json()
        assert creds["topic"] == f"vigil/v1/devices/{creds['device_id']}/readings"
        listed = client.get("/api/v1/devices", headers=admin).json()
        assert [(d["id"], d["patient_id"]) for d in listed] == [
            (creds["device_id"], str(world.a.patient))
        ]
        assert _eventually(broker, creds["device_id"], creds["password"], ok=True)
        assert not _connects(broker, creds["device_id"], "wrong password")

        r = client.post(
            f"/api/v1/devices/{creds['device_id']}/assignments",
            json={"patient_id": str(world.a.other_patient)},
            headers=admin,
        )
        assert r.status_code == 204, r.text
        r = client.post(f"/api/v1/devices/{creds['device_id']}/revoke", headers=admin)
        assert r.status_code == 204
        assert _eventually(broker, creds["device_id"], creds["password"], ok=False)
        r = client.post(f"/api/v1/devices/{creds['device_id']}/revoke", headers=admin)
        assert r.status_code == 404
        # Another tenant's admin cannot touch the device.
        r = client.post(
            f"/api/v1/devices/{creds['device_id']}/assignments",
            json={"patient_id": str(world.b.patient)},
            headers=world.headers("admin", "b"),
        )
        assert r.status_code == 404


def _connects(broker: EmbeddedMosquitto, device_id: str, password: str) -> bool:
    publisher = DevicePublisher("127.0.0.1", broker.port, device_id, password)
    try:
        publisher.connect(timeout=2)
    except ConnectionError:
        return False
    finally:
        publisher.client.loop_stop()
        publisher.client.disconnect()
    return True


def _eventually(broker: EmbeddedMosquitto, device_id: str, password: str, *, ok: bool) -> bool:
    """The broker reloads its password file asynchronously: poll for the expected outcome."""
    deadline = time.monotonic() + 5
    while _connects(broker, device_id, password) != ok:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
