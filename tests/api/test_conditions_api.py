"""Enrolment takes only the closed list of conditions (a typo would get the default plan)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import World

pytestmark = pytest.mark.integration


def test_enrolment_refuses_a_condition_outside_the_list(client: httpx.Client, world: World) -> None:
    admin = world.headers("admin")
    ok = client.post(
        "/api/v1/patients", json={"display_name": "N", "conditions": ["t2d"]}, headers=admin
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["conditions"] == ["t2d"]
    for bad in (["diabetes"], ["t2d", "T1D"], ["healthy"]):
        r = client.post(
            "/api/v1/patients", json={"display_name": "N", "conditions": bad}, headers=admin
        )
        assert r.status_code == 422, (bad, r.text)
    patient = ok.json()["id"]
    r = client.patch(f"/api/v1/patients/{patient}", json={"conditions": ["copd"]}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["conditions"] == ["copd"]
    r = client.patch(f"/api/v1/patients/{patient}", json={"conditions": ["cold"]}, headers=admin)
    assert r.status_code == 422
    with world.conn() as conn:
        row = conn.execute("SELECT conditions FROM patients WHERE id = %s", (patient,)).fetchone()
    assert row == (["copd"],)
