"""The clinic list: each visible patient's 14 days of CGM as the AGP measures them, sortable;
no one sees another team's or tenant's patients in it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.api.conftest import World
from tests.api.test_reports_agp import END, START, cgm_trace, insert

PERIOD = {"start": START.isoformat(), "end": END.isoformat()}


def clinic(
    client: httpx.Client, world: World, who: str, **params: object
) -> list[dict[str, object]]:
    r = client.get("/api/v1/reports/clinic", params=PERIOD | params, headers=world.headers(who))
    assert r.status_code == 200, r.text
    rows: list[dict[str, object]] = r.json()
    return rows


def test_the_clinic_list_measures_as_the_agp_and_sorts(world: World, client: httpx.Client) -> None:
    insert(world, world.a.patient, cgm_trace(seed=1))
    calm = [(t, 120.0) for t, _ in cgm_trace()[: 288 * 7]]  # a week all in range
    insert(world, world.a.other_patient, calm)
    insert(world, world.b.patient, cgm_trace(seed=2))

    agp = client.get(f"/api/v1/patients/{world.a.patient}/reports/agp", params=PERIOD,
                     headers=world.headers("clinician")).json()  # fmt: skip
    [mine] = clinic(client, world, "clinician")  # the care team has one patient
    assert mine["patient_id"] == str(world.a.patient)
    assert mine["readings"] == agp["readings"]
    assert mine["tir"] == pytest.approx(agp["time_in_ranges"]["70_180"])
    tbr = agp["time_in_ranges"]["below_54"] + agp["time_in_ranges"]["54_69"]
    assert mine["tbr"] == pytest.approx(tbr)
    assert mine["gmi"] == pytest.approx(agp["gmi_percent"])
    assert mine["cv"] == pytest.approx(agp["cv_percent"])
    assert mine["active"] == pytest.approx(100.0)

    everyone = clinic(client, world, "admin")  # the tenant's patients, not the other tenant's
    assert [r["patient_id"] for r in everyone] == [str(world.a.patient), str(world.a.other_patient)]
    other = everyone[1]
    assert other["tir"] == 1.0
    assert other["active"] == pytest.approx(50.0)
    by_tir_desc = clinic(client, world, "admin", sort="tir", descending=True)
    assert by_tir_desc[0]["patient_id"] == str(world.a.other_patient)
    by_cv = clinic(client, world, "admin", sort="cv")
    assert by_cv[0]["cv"] == 0
    by_name = clinic(client, world, "admin", sort="name")
    assert [r["display_name"] for r in by_name] == ["Clinic A other", "Clinic A patient"]


def test_patients_without_cgm_come_last(world: World, client: httpx.Client) -> None:
    insert(world, world.a.other_patient, [(START + timedelta(minutes=5 * i), 200.0)
                                          for i in range(12)])  # fmt: skip
    rows = clinic(client, world, "admin", sort="tir", descending=True)
    assert [r["readings"] for r in rows] == [12, 0]
    assert rows[1]["tir"] is None


def test_the_clinic_list_is_for_staff(world: World, client: httpx.Client) -> None:
    r = client.get("/api/v1/reports/clinic", headers=world.headers("patient"))
    assert r.status_code == 403
    assert client.get("/api/v1/reports/clinic").status_code == 401
    assert clinic(client, world, "outsider") == []  # in no team: sees no one
    r = client.get("/api/v1/reports/clinic", params={"sort": "secret"},
                   headers=world.headers("admin"))  # fmt: skip
    assert r.status_code == 422
