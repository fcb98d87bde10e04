"""Patients' data through the API: readings, rollups, FHIR, the dashboard list, the care plan
and its preview, and the patient's own feed; treatments (a bolus, a meal) read raw, not as
vitals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import World
from vigil.storage import rebuild_latest_readings

pytestmark = pytest.mark.integration


@pytest.fixture
def history(world: World) -> datetime:
    """Ten hours of SpO2 for the care-team patient: 95 % except 87, 86 and 85 %."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=10)
    values = [95, 87, 86, 95, 95, 95, 85, 95, 95, 95]
    with world.conn() as conn:
        for h, v in enumerate(values):
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at) VALUES (%s, %s, 'spo2', %s, '%%', 'ox-1', now())",
                (start + timedelta(hours=h), world.a.patient, v),
            )
        rebuild_latest_readings(conn)  # ingest keeps it; this history bypassed ingest
    return start


def test_readings_rollup_fhir_vitals(client: httpx.Client, world: World, history: datetime) -> None:
    nurse = world.headers("clinician")
    base = f"/api/v1/patients/{world.a.patient}"
    raw = client.get(f"{base}/readings", params={"metric": "spo2"}, headers=nurse).json()
    assert [r["value"] for r in raw][:2] == [95, 95]
    assert len(raw) == 10
    rollup = client.get(
        f"{base}/readings/rollup", params={"metric": "spo2", "bucket": "6h"}, headers=nurse
    ).json()
    assert rollup["unit"] == "%"
    assert sum(b["count"] for b in rollup["buckets"]) == 10
    assert min(b["min"] for b in rollup["buckets"]) == 85
    bundle = client.get(f"{base}/fhir/observations", headers=nurse).json()
    assert bundle["resourceType"] == "Bundle"
    observations = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert len(observations) == 10
    obs = observations[0]
    assert [c["code"] for c in obs["code"]["coding"]] == ["2708-6", "59408-5"]
    assert obs["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert obs["subject"] == {"reference": f"Patient/{world.a.patient}"}
    vitals = client.get(f"/api/v1/care-teams/{world.a.team}/latest-vitals", headers=nurse).json()
    assert [v["patient_id"] for v in vitals] == [str(world.a.patient)]
    assert vitals[0]["vitals"][0]["metric"] == "spo2"
    assert vitals[0]["vitals"][0]["value"] == 95
    r = client.get(
        f"/api/v1/care-teams/{world.a.team}/latest-vitals", headers=world.headers("outsider")
    )
    assert r.status_code == 404


def test_a_bolus_and_a_meal_are_read_raw_for_the_chart_not_listed_as_vitals(
    client: httpx.Client, world: World, history: datetime
) -> None:
    """The patient page reads a pump's entries raw (its glucose strip); the care team's list
    of latest vitals leaves them out (a bolus is not a measurement)."""
    with world.conn() as conn:
        for metric, value, unit in (("insulin", 4.5, "[iU]"), ("carbs", 60, "g")):
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at) VALUES (%s, %s, %s, %s, %s, 'pump-1', now())",
                (history + timedelta(hours=9, minutes=30), world.a.patient, metric, value, unit),
            )
        rebuild_latest_readings(conn)
    path = f"/api/v1/patients/{world.a.patient}/readings"
    raw = client.get(path, params={"metric": "insulin"}, headers=world.headers("clinician"))
    assert [(r["value"], r["unit"]) for r in raw.json()] == [(4.5, "[iU]")]
    for who, tenant in (("outsider", "a"), ("other_patient", "a"), ("admin", "b")):
        refused = client.get(path, params={"metric": "insulin"}, headers=world.headers(who, tenant))
        assert refused.status_code in (403, 404), (who, tenant, refused.status_code)
    vitals = client.get(
        f"/api/v1/care-teams/{world.a.team}/latest-vitals", headers=world.headers("clinician")
    ).json()
    assert [v["metric"] for v in vitals[0]["vitals"]] == ["spo2"]


def test_the_team_list_says_a_latest_low_is_a_cgms_low_mark(
    client: httpx.Client, world: World, history: datetime
) -> None:
    """A CGM's LOW is stored as 40 mg/dL, censored below: the team's latest vitals carry the
    mark, so the list says LOW rather than a measured 40 (and a measured value has none)."""
    with world.conn() as conn:
        conn.execute(
            "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
            " received_at, censored) VALUES (%s, %s, 'glucose', 40, 'mg/dL', 'cgm-1', now(),"
            " 'below')",
            (history + timedelta(hours=9, minutes=30), world.a.patient),
        )
        rebuild_latest_readings(conn)
    vitals = client.get(
        f"/api/v1/care-teams/{world.a.team}/latest-vitals", headers=world.headers("clinician")
    ).json()
    marks = {v["metric"]: (v["value"], v["censored"]) for v in vitals[0]["vitals"]}
    assert marks["glucose"] == (40, "below")
    assert marks["spo2"][1] is None


def test_a_cgms_low_and_high_marks_are_said_as_such_in_readings_rollups_and_fhir(
    client: httpx.Client, world: World
) -> None:
    nurse = world.headers("clinician")
    base = f"/api/v1/patients/{world.a.patient}"
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    rows = [(0, 62.0, None), (5, 40.0, "below"), (10, 40.0, "below"), (15, 400.0, "above")]
    with world.conn() as conn:
        for minutes, value, censored in rows:
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at, censored) VALUES (%s, %s, 'glucose', %s, 'mg/dL', 'cgm-1',"
                " now(), %s)",
                (at + timedelta(minutes=minutes), world.a.patient, value, censored),
            )
    raw = client.get(f"{base}/readings", params={"metric": "glucose"}, headers=nurse).json()
    assert [(r["value"], r["censored"]) for r in raw] == [
        (value, censored) for _, value, censored in reversed(rows)
    ]
    rollup = client.get(
        f"{base}/readings/rollup", params={"metric": "glucose", "bucket": "1d"}, headers=nurse
    ).json()
    assert sum(b["low"] for b in rollup["buckets"]) == 2
    assert sum(b["high"] for b in rollup["buckets"]) == 1
    assert sum(b["count"] for b in rollup["buckets"]) == 4
    fhir = client.get(
        f"{base}/fhir/observations", params={"metric": "glucose"}, headers=nurse
    ).json()
    quantities = [
        e["resource"]["valueQuantity"]
        for e in fhir["entry"]
        if e["resource"]["resourceType"] == "Observation"
    ]
    assert [q.get("comparator") for q in quantities] == [">", "<", "<", None]
    with world.conn() as conn:
        conn.execute(
            "DELETE FROM readings WHERE patient_id = %s AND metric = 'glucose'", (world.a.patient,)
        )


def test_care_plan_and_its_preview(client: httpx.Client, world: World, history: datetime) -> None:
    nurse = world.headers("clinician")
    base = f"/api/v1/patients/{world.a.patient}"
    plan = {"targets": {"spo2": {"low": 92}}, "thresholds": {"spo2": {"low": 88}}}
    r = client.put(f"{base}/care-plan", json=plan, headers=nurse)
    assert r.status_code == 200, r.text
    assert r.json()["updated_by"] == str(world.a.users["clinician"])
    r = client.post(
        f"{base}/care-plan/preview", json={"thresholds": {"spo2": {"low": 85}}}, headers=nurse
    )
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["readings"] == 10
    # Below today's 88 %: 87, 86 and 85, within hours of each other: one alert. Below 85: none.
    assert preview["current"]["alerts"] == 1
    assert preview["current"]["by_cause"] == {"spo2_low": 1}
    assert preview["proposed"] == {"alerts": 0, "by_cause": {}, "opened": []}
    assert [a["cause"] for a in preview["gone"]] == ["spo2_low"]
    assert preview["engine"] == "streaming"  # the detect stage's replay, the full detector set


def test_the_patients_own_feed(client: httpx.Client, world: World, history: datetime) -> None:
    with world.conn() as conn:
        conn.execute(
            "INSERT INTO care_plans (patient_id, targets) VALUES (%s, %s)",
            (world.a.patient, '{"spo2": {"low": 92, "high": 100}}'),
        )
    feed = client.get("/api/v1/me/feed", headers=world.headers("patient")).json()
    [week] = feed["week"]
    assert (week["metric"], week["readings"], week["in_target_share"]) == ("spo2", 10, 0.7)
    assert week["goal"] == 0.75  # the page praises a week at or above it
    assert "reminders" not in feed  # one reminder rule: coaching's items (/me/feed/items)
    assert feed["streak_days"] >= 1
    other = client.get("/api/v1/me/readings", headers=world.headers("other_patient")).json()
    assert other == []
