"""The care plan's checks (low below high, within what a body can read; 422 with a message,
nothing stored), its defaults from the detectors' own table, and a preview naming the alerts a
change opens, with their times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.api.conftest import World
from vigil.clinical.careplan import COPD_SPO2, DEFAULT_THRESHOLDS, InsulinSettings
from vigil.core.metrics import Metric
from vigil.streaming.repo import load_care_plan

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        ({"thresholds": {"glucose": {"low": 200, "high": 100}}}, "glucose: low 200 must be below"),
        ({"thresholds": {"spo2": {"low": 120}}}, "spo2 low 120 is outside 40-100 %"),
        ({"targets": {"body_temperature": {"high": 3}}}, "body_temperature high 3 is outside"),
        ({"thresholds": {"heart_rate": {"low": 80, "high": 80}}}, "low 80 must be below high 80"),
    ],
)
def test_an_impossible_plan_is_refused_with_a_message_and_nothing_stored(
    client: httpx.Client, world: World, plan: dict[str, object], says: str
) -> None:
    nurse = world.headers("clinician")
    base = f"/api/v1/patients/{world.a.patient}"
    r = client.put(f"{base}/care-plan", json=plan, headers=nurse)
    assert r.status_code == 422, r.text
    body = r.json()["error"]
    assert any(says in d["msg"] for d in body["details"]), body
    if "thresholds" in plan:
        r = client.post(f"{base}/care-plan/preview", json=plan, headers=nurse)
        assert r.status_code == 422, r.text
    assert client.get(f"{base}/care-plan", headers=nurse).json()["thresholds"] == {}


def test_defaults_are_the_detectors_own(client: httpx.Client, world: World) -> None:
    nurse = world.headers("clinician")
    copd = client.get(f"/api/v1/patients/{world.a.patient}/care-plan/defaults", headers=nurse)
    other = client.get(
        f"/api/v1/patients/{world.a.other_patient}/care-plan/defaults",
        headers=world.headers("admin"),
    )
    assert copd.status_code == other.status_code == 200, (copd.text, other.text)
    assert copd.json()["thresholds"]["spo2"] == {"low": COPD_SPO2.low, "high": None}
    assert other.json()["thresholds"]["spo2"]["low"] == DEFAULT_THRESHOLDS[Metric.SPO2].low
    assert copd.json()["targets"]["glucose"] == {"low": 70, "high": 180}
    r = client.get(
        f"/api/v1/patients/{world.a.patient}/care-plan/defaults", headers=world.headers("outsider")
    )
    assert r.status_code == 404


def test_the_preview_names_the_alerts_a_change_opens(client: httpx.Client, world: World) -> None:
    """Glucose 95 mg/dL all along, dipping to 65 and 60 two days apart: today's default (70)
    opens two alerts; alerting below 62 opens one, and the preview says which one goes."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=5)
    values = {0: 95, 1: 65, 2: 95, 48: 95, 49: 60, 50: 95}
    with world.conn() as conn:
        for h, v in values.items():
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at) VALUES (%s, %s, 'glucose', %s, 'mg/dL', 'gm-1', now())",
                (start + timedelta(hours=h), world.a.patient, v),
            )
    nurse = world.headers("clinician")
    r = client.post(
        f"/api/v1/patients/{world.a.patient}/care-plan/preview",
        json={"thresholds": {"glucose": {"low": 62}}},
        headers=nurse,
    )
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["current"]["alerts"], p["proposed"]["alerts"]) == (2, 1)
    assert p["new"] == []
    [gone] = p["gone"]
    assert gone["cause"] == "hypoglycemia"  # the detectors' cause for a low below the line
    assert datetime.fromisoformat(gone["time"]) == start + timedelta(hours=1)
    assert [datetime.fromisoformat(a["time"]) for a in p["proposed"]["opened"]] == [
        start + timedelta(hours=49)
    ]


def test_insulin_settings_are_stored_kept_by_a_threshold_edit_and_checked(
    client: httpx.Client, world: World
) -> None:
    nurse = world.headers("clinician")
    base = f"/api/v1/patients/{world.a.patient}"
    defaults = client.get(f"{base}/care-plan/defaults", headers=nurse).json()["insulin"]
    assert defaults == InsulinSettings().as_stored()
    plan = {"insulin": {"sensitivity_mg_dl_per_u": 55, "carb_ratio_g_per_u": 9.5}}
    r = client.put(f"{base}/care-plan", json=plan, headers=nurse)
    assert r.status_code == 200, r.text
    assert r.json()["insulin"] == {"sensitivity_mg_dl_per_u": 55, "carb_ratio_g_per_u": 9.5}
    # The dashboard's editor sends thresholds only: the settings stay.
    r = client.put(f"{base}/care-plan", json={"thresholds": {"spo2": {"low": 89}}}, headers=nurse)
    assert r.status_code == 200, r.text
    stored = client.get(f"{base}/care-plan", headers=nurse).json()
    assert stored["insulin"] == {"sensitivity_mg_dl_per_u": 55, "carb_ratio_g_per_u": 9.5}
    assert stored["thresholds"] == {"spo2": {"low": 89.0, "high": None}}
    # Detection reads them (one home: InsulinSettings over the care plan's row).
    with psycopg.connect(world.db_url) as conn:
        detector_plan = load_care_plan(conn, patient_id=world.a.patient)
    assert detector_plan.insulin == InsulinSettings(55.0, 9.5)
    for bad in ({"carb_ratio_g_per_u": 0}, {"sensitivity_mg_dl_per_u": 900}, {"x": 1}):
        r = client.put(f"{base}/care-plan", json={"insulin": bad}, headers=nurse)
        assert r.status_code == 422, (bad, r.text)
    stored = client.get(f"{base}/care-plan", headers=nurse).json()
    assert stored["insulin"] == {"sensitivity_mg_dl_per_u": 55, "carb_ratio_g_per_u": 9.5}
