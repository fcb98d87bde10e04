"""The CGM summary served by the FHIR read API (``Observation?code=107931-8``) and the REST
export (``.../fhir/cgm-summary``): the AGP endpoint's figures for the same period, in the CGM
IG's form, scoped and audited like every FHIR read."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import World
from tests.api.test_reports_agp import END, START, agp, cgm_trace, insert
from tests.fhir.validation import assert_valid_r4b
from vigil.fhir import members_violations, summary_violations

SUMMARY = "http://loinc.org|107931-8"
PERIOD = [("date", f"ge{START.isoformat()}"), ("date", f"lt{END.isoformat()}")]


@pytest.fixture
def emr(client: httpx.Client, world: World) -> dict[str, str]:
    """A service account of clinic A's care team; clinic A's patient wore a CGM 14 days."""
    r = client.post(
        "/api/v1/service-accounts",
        headers=world.headers("admin"),
        json={"name": "EMR", "care_team_ids": [str(world.a.team)]},
    )
    assert r.status_code == 201, r.text
    insert(world, world.a.patient, cgm_trace())
    return {"Authorization": f"Bearer {r.json()['token']}", "user": r.json()["user_id"]}


def _search(client: httpx.Client, emr: dict[str, str], patient: object,
            params: list[tuple[str, str]]) -> httpx.Response:  # fmt: skip
    return client.get(
        "/fhir/r4/Observation",
        params=[("patient", str(patient)), *params],
        headers={"Authorization": emr["Authorization"]},
    )


def _denied(world: World) -> int:
    with world.conn() as conn:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE outcome = 'denied'").fetchone()
    assert row is not None
    return int(row[0])


def _by_code(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["code"]["coding"][0]["code"]: r for r in resources}


def _check_figures(members: dict[str, dict[str, Any]], report: dict[str, Any]) -> None:
    """The summary says what the AGP report says, at the precision the IG asks."""
    assert members["97507-8"]["valueQuantity"]["value"] == round(report["mean_mg_dl"], 1)
    assert members["97506-0"]["valueQuantity"]["value"] == round(report["gmi_percent"], 2)
    assert members["104638-2"]["valueQuantity"]["value"] == round(report["cv_percent"], 2)
    assert members["104637-4"]["valueQuantity"]["value"] == round(report["active_percent"], 2)
    worn = sum(1 for d in report["daily"] if d["readings"] > 0)
    assert members["104636-6"]["valueQuantity"]["value"] == worn
    tir = {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"]
           for c in members["106793-3"]["component"]}  # fmt: skip
    shares = report["time_in_ranges"]
    assert tir == {
        "104642-4": round(100 * shares["below_54"], 2),
        "104641-6": round(100 * shares["54_69"], 2),
        "97510-2": round(100 * shares["70_180"], 2),
        "104640-8": round(100 * shares["181_250"], 2),
        "104639-0": round(100 * shares["above_250"], 2),
    }


def test_the_summary_search_gives_the_agps_figures_in_the_igs_form(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    r = _search(client, emr, world.a.patient, [("code", SUMMARY), *PERIOD])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = r.json()
    assert_valid_r4b(bundle)
    matches = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]
    included = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "include"]
    assert [m["code"]["coding"][0]["code"] for m in matches] == ["107931-8"]
    assert [p["id"] for p in included if p["resourceType"] == "Patient"] == [str(world.a.patient)]
    observations = [e["resource"] for e in bundle["entry"]
                    if e["resource"]["resourceType"] == "Observation"]  # fmt: skip
    assert len(observations) == 7
    for resource in observations:
        assert summary_violations(resource) == [], resource
    assert members_violations(observations) == []
    assert matches[0]["effectivePeriod"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert not [link for link in bundle["link"] if link["relation"] == "next"]
    report = agp(client, world, world.a.patient)
    assert report["readings"] == len(cgm_trace())
    _check_figures(_by_code(observations), report)

    rest = client.get(
        f"/api/v1/patients/{world.a.patient}/fhir/cgm-summary",
        params={"start": START.isoformat(), "end": END.isoformat()},
        headers=world.headers("clinician"),
    )
    assert rest.status_code == 200, rest.text
    exported = rest.json()
    assert exported["type"] == "collection"
    assert_valid_r4b(exported)
    resources = [e["resource"] for e in exported["entry"]]
    assert [r["resourceType"] for r in resources] == ["Patient"] + ["Observation"] * 7
    assert sorted(r["id"] for r in resources[1:]) == sorted(o["id"] for o in observations)
    _check_figures(_by_code(resources[1:]), report)

    meta = client.get("/fhir/r4/metadata").json()
    observation = next(r for r in meta["rest"][0]["resource"] if r["type"] == "Observation")
    declared = {p for r in observations for p in r["meta"]["profile"]}
    assert declared <= set(observation["supportedProfile"])
    code = next(p for p in observation["searchParam"] if p["name"] == "code")
    assert "107931-8" in code["documentation"]


def test_the_summary_search_narrows_and_refuses_like_every_fhir_read(
    client: httpx.Client, world: World, emr: dict[str, str]
) -> None:
    empty = [
        [("code", SUMMARY), ("date", "ge2020-01-01"), ("date", "le2020-01-14")],  # no readings
        [("code", SUMMARY), ("category", "vital-signs"), *PERIOD],  # not a vital sign
    ]
    for params in empty:
        r = _search(client, emr, world.a.patient, params)
        assert r.status_code == 200, r.text
        assert r.json().get("entry", []) == [], params
    for params in (
        [("code", f"{SUMMARY},http://loinc.org|99504-3"), *PERIOD],  # with another code
        [("code", SUMMARY), ("date", "ge2026-11-16T15:00:00")],  # no time zone
        [("code", SUMMARY), ("date", "le9999-12-31")],  # past the last instant (was a 500)
        [("code", "2708-6"), ("date", "lt0001-01-01")],  # any search: before the first
    ):
        r = _search(client, emr, world.a.patient, params)
        assert r.status_code == 400, params
        assert r.json()["resourceType"] == "OperationOutcome"
    before = _denied(world)
    insert(world, world.b.patient, cgm_trace()[:50])
    for patient in (world.b.patient, world.a.other_patient):
        r = _search(client, emr, patient, [("code", SUMMARY), *PERIOD])
        assert r.status_code == 404
        assert r.json()["resourceType"] == "OperationOutcome"
        assert "107931-8" not in r.text
    rest = [
        (world.headers("admin", "b"), world.a.patient, 404),  # another tenant
        (world.headers("outsider"), world.a.patient, 404),  # not their care team
        (world.headers("patient"), world.a.patient, 403),  # a patient reads /me
        ({"Authorization": emr["Authorization"]}, world.a.patient, 401),  # FHIR only
    ]
    for headers, patient, status in rest:
        r = client.get(f"/api/v1/patients/{patient}/fhir/cgm-summary", headers=headers)
        assert r.status_code == status, (headers, r.text)
    for period in (
        {"start": END.isoformat(), "end": START.isoformat()},  # inverted: selects nothing
        {"end": "9999-12-31T23:59:59.999999+00:00"},  # 14 days before the calendar's end
        {"start": "2020-01-01T00:00:00Z", "end": "2020-01-15T00:00:00Z"},  # no readings
    ):
        r = client.get(f"/api/v1/patients/{world.a.patient}/fhir/cgm-summary", params=period,
                       headers=world.headers("clinician"))  # fmt: skip
        assert r.status_code == 200, (period, r.text)
        assert [e["resource"]["resourceType"] for e in r.json()["entry"]] == ["Patient"]
    bad = client.get(
        f"/api/v1/patients/{world.a.patient}/fhir/cgm-summary",
        params={"end": "2026-11-30T15:00:00"},
        headers=world.headers("clinician"),
    )
    assert bad.status_code == 422  # a time without its zone
    with world.conn() as conn:
        allowed = conn.execute(
            "SELECT count(*) FROM audit_log WHERE outcome = 'allowed' AND actor_user_id = %s"
            " AND patient_id = %s AND path = '/fhir/r4/Observation'",
            (emr["user"], world.a.patient),
        ).fetchone()
    assert _denied(world) - before >= 2 + 2  # the two FHIR refusals, the API's two 404s
    assert allowed == (6,)  # the two empty answers and the four 400s were reads of the patient
