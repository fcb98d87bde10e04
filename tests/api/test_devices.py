"""Devices through the API against the real broker: provisioned credentials work at once,
revoked ones stop working."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
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


def _password_file_users(root: Path, name: str = "passwd") -> set[str]:
    return {line.split(":", 1)[0] for line in (root / name).read_text().splitlines()}


def test_concurrent_provisions_all_reach_the_password_file(world: World, tmp_path: Path) -> None:
    """Every 201 is a device the broker's password file lists once the response is in, however
    many admins provision at once (each sync reads the devices, then hashes the services'
    passwords and writes the file: without one sync at a time, a slower sync's file could
    drop a device committed meanwhile)."""
    root = tmp_path / "broker"
    root.mkdir()
    for service in ("vigil-ingest", "vigil-alerts"):
        (root / f"{service}.secret").write_text(f"{service}-password-for-the-test\n")

    def sync(conn: Any) -> None:
        sync_broker_credentials(conn, root)

    attempts = 24
    with LiveServer(make_app(world.db_url, sync_broker=sync)) as base:

        def provision(n: int) -> tuple[int, str]:
            with httpx.Client(base_url=base, timeout=60) as client:
                r = client.post(
                    "/api/v1/devices",
                    json={"kind": "oximeter", "device_id": f"burst-{n:03d}"},
                    headers=world.headers("admin"),
                )
                return r.status_code, r.json()["device_id"] if r.status_code == 201 else r.text

        with ThreadPoolExecutor(max_workers=8) as workers:
            answers = list(workers.map(provision, range(attempts)))
    created = {device for status, device in answers if status == 201}
    listed = _password_file_users(root)
    missing = created - listed
    failed = [a for a in answers if a[0] != 201]
    print(
        f"concurrent provisions: attempted {attempts}, 201 {len(created)},"
        f" failed {len(failed)}, 201 but missing from the password file {len(missing)}"
    )
    assert len(created) == attempts, answers
    assert not missing, sorted(missing)
    assert {"vigil-ingest", "vigil-alerts"} <= _password_file_users(root, "services.passwd")


def test_broker_not_updated_is_an_error_not_a_201(world: World, tmp_path: Path) -> None:
    """A password file that cannot be written (its directory is a file here): the provision
    answers 500 broker_not_updated, and the device stays stored, audited, for the next sync."""
    root = tmp_path / "not-a-directory"
    root.write_text("")

    def sync(conn: Any) -> None:
        sync_broker_credentials(conn, root)

    with (
        LiveServer(make_app(world.db_url, sync_broker=sync)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        r = client.post(
            "/api/v1/devices",
            json={"kind": "oximeter", "device_id": "unsynced-1"},
            headers=world.headers("admin"),
        )
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "broker_not_updated"
    with world.conn() as conn:
        stored = conn.execute("SELECT count(*) FROM devices WHERE id = 'unsynced-1'").fetchone()
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE detail->>'device_id' = 'unsynced-1'"
        ).fetchone()
    assert stored == (1,)
    assert audited == (1,)


def test_the_api_refuses_a_service_name(world: World, broker: EmbeddedMosquitto) -> None:
    app = make_app(
        world.db_url, sync_broker=lambda conn: sync_broker_credentials(conn, broker.root)
    )
    with LiveServer(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        for device_id in ["vigil-ingest", "VIGIL-INGEST", "vigil_admin"]:
            r = client.post(
                "/api/v1/devices",
                json={"kind": "oximeter", "device_id": device_id},
                headers=world.headers("admin"),
            )
            assert r.status_code == 422, r.text
            assert "reserved" in r.text
    with psycopg.connect(world.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM devices").fetchone() == (0,)
