"""Read-your-writes over real HTTP: a change the API answered 2xx for is there for the very next
request. 500 create-then-read pairs across every kind of change a client makes one after the
other (an admin console that enrols then provisions, a script that does), 0 misses."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, make_app
from vigil.alerts import AlertService
from vigil.storage import admin as storage

pytestmark = pytest.mark.integration

PAIRS = 500
Pair = Callable[[int], bool]
"""One create-then-read: True when the read shows the change the create answered 2xx for."""


class Console:
    """An admin who changes something and reads it back at once, on one keep-alive
    connection, as a console or a script would."""

    def __init__(self, client: httpx.Client, world: World, alerts: list[uuid.UUID]) -> None:
        self.client = client
        self.world = world
        self.alerts = alerts
        self.h = world.headers("admin")
        self.errors: list[str] = []

    def _created(self, r: httpx.Response, status: int) -> Any:
        assert r.status_code == status, r.text  # the create itself never fails here
        return r.json() if r.content else None

    def _found(self, r: httpx.Response, what: str) -> bool:
        if r.status_code != 200:
            self.errors.append(f"{what}: {r.status_code} {r.text[:120]}")
            return False
        return True

    def patient(self, i: int) -> bool:
        name = f"Read-back {i}"
        made = self._created(
            self.client.post("/api/v1/patients", json={"display_name": name}, headers=self.h), 201
        )
        r = self.client.get(f"/api/v1/patients/{made['id']}", headers=self.h)
        return self._found(r, "patient") and r.json()["display_name"] == name

    def device(self, i: int) -> bool:
        # Enrol, then provision a device for the patient enrolled a moment before (the
        # provisioning reads the patient), then list the devices.
        body = {"display_name": f"Device owner {i}"}
        patient = self._created(
            self.client.post("/api/v1/patients", json=body, headers=self.h), 201
        )
        r = self.client.post(
            "/api/v1/devices",
            json={"kind": "oximeter", "patient_id": patient["id"]},
            headers=self.h,
        )
        if r.status_code != 201:
            self.errors.append(f"device for a new patient: {r.status_code} {r.text[:120]}")
            return False
        device_id = r.json()["device_id"]
        listed = self.client.get("/api/v1/devices", params={"limit": 1000}, headers=self.h)
        return self._found(listed, "devices") and (device_id, patient["id"]) in {
            (d["id"], d["patient_id"]) for d in listed.json()
        }

    def care_team(self, i: int) -> bool:
        body = {"name": f"Team {i}"}
        made = self._created(self.client.post("/api/v1/care-teams", json=body, headers=self.h), 201)
        r = self.client.get("/api/v1/care-teams", headers=self.h)
        return self._found(r, "care teams") and made["id"] in {t["id"] for t in r.json()}

    def user(self, i: int) -> bool:
        body = {
            "email": f"nurse{i}.{uuid.uuid4().hex[:8]}@clinic.example",
            "display_name": f"Nurse {i}",
            "role": "clinician",
            "password": "a long enough password",
        }
        made = self._created(self.client.post("/api/v1/users", json=body, headers=self.h), 201)
        r = self.client.get("/api/v1/users", params={"limit": 1000}, headers=self.h)
        return self._found(r, "users") and made["id"] in {u["id"] for u in r.json()}

    def webhook(self, i: int) -> bool:
        body = {"url": f"https://93.184.215.14/in/{i}", "secret": "s3cret-key"}
        made = self._created(self.client.post("/api/v1/webhooks", json=body, headers=self.h), 201)
        r = self.client.get("/api/v1/webhooks", params={"limit": 1000}, headers=self.h)
        return self._found(r, "webhooks") and made["id"] in {w["id"] for w in r.json()}

    def care_plan(self, i: int) -> bool:
        url = f"/api/v1/patients/{self.world.a.patient}/care-plan"
        low = 80.0 + i % 17 + 0.25  # never the value of the pair before
        plan = {"targets": {}, "thresholds": {"spo2": {"low": low}}}
        self._created(self.client.put(url, json=plan, headers=self.h), 200)
        r = self.client.get(url, headers=self.h)
        return self._found(r, "care plan") and r.json()["thresholds"]["spo2"]["low"] == low

    def alert_action(self, i: int) -> bool:
        # Acknowledge an open alert, then read it back: the alert itself and the inbox (the
        # dashboard's cached read, dropped by every change this process makes).
        alert_id = self.alerts.pop()
        url = f"/api/v1/alerts/{alert_id}"
        note = {"note": f"calling them ({i})"}
        self._created(self.client.post(f"{url}/acknowledge", json=note, headers=self.h), 200)
        one = self.client.get(url, headers=self.h)
        if not self._found(one, "alert") or one.json()["state"] != "acknowledged":
            return False
        inbox = self.client.get(
            "/api/v1/alerts", params={"state": "acknowledged", "limit": 500}, headers=self.h
        )
        return self._found(inbox, "inbox") and str(alert_id) in {a["id"] for a in inbox.json()}


def _open_alerts(world: World, count: int) -> list[uuid.UUID]:
    with world.conn() as conn:
        patients = [
            storage.create_patient(
                conn, tenant_id=world.a.id, display_name=f"Alerting {n}", conditions=["copd"]
            )
            for n in range(count)
        ]
        changes = AlertService().apply(conn, [finding(p, value=85) for p in patients])
    return [c.alert_id for c in changes if c.kind == "opened"]


def test_500_create_then_read_pairs_miss_nothing(world: World) -> None:
    kinds = ["patient", "device", "care_team", "user", "webhook", "care_plan", "alert_action"]
    alerts = _open_alerts(world, PAIRS // len(kinds) + 1)
    attempted: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    with (
        LiveServer(make_app(world.db_url)) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        console = Console(client, world, alerts)
        for i in range(PAIRS):
            kind = kinds[i % len(kinds)]
            attempted[kind] += 1
            if not getattr(console, kind)(i):
                missed[kind] += 1
    print(f"read-your-writes: {PAIRS} pairs {dict(attempted)}, misses {dict(missed)}")
    assert sum(attempted.values()) == PAIRS
    assert set(attempted) == set(kinds)
    assert not missed, (dict(missed), console.errors[:10])
