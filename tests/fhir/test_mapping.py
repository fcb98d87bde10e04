"""The FHIR mapping: every kind of reading, structurally valid (fhir.resources R4B), meeting
our profile rules, and parsed back to what was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError

from tests.fhir.validation import assert_valid_r4b
from vigil.clinical.fhir_profiles import KINDS, ObservationKind
from vigil.core.metrics import Metric
from vigil.fhir import (
    AlertFacts,
    DeviceRow,
    ObservationRow,
    PatientRow,
    collection,
    detected_issue,
    device,
    observation,
    patient,
    readings,
    searchset,
    unresolved_references,
    violations,
)

PATIENT = UUID(int=7)
AT = datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
BASE = "https://vigil.example/fhir/r4"

ROWS = [
    ObservationRow(
        PATIENT,
        AT,
        ObservationKind.BLOOD_PRESSURE,
        "bp_cuff-1",
        {Metric.BP_SYSTOLIC: 138.0, Metric.BP_DIASTOLIC: 86.0},
    ),
    ObservationRow(PATIENT, AT, ObservationKind.HEART_RATE, "bp_cuff-1", {Metric.HEART_RATE: 72.0}),
    ObservationRow(PATIENT, AT, ObservationKind.SPO2, "ox-1", {Metric.SPO2: 93.0}),
    ObservationRow(
        PATIENT, AT, ObservationKind.RESPIRATORY_RATE, "ox-1", {Metric.RESPIRATORY_RATE: 18.0}
    ),
    ObservationRow(
        PATIENT, AT, ObservationKind.BODY_WEIGHT, "scale-1", {Metric.BODY_WEIGHT: 80.01}
    ),
    ObservationRow(
        PATIENT, AT, ObservationKind.BODY_TEMPERATURE, "temp-1", {Metric.BODY_TEMPERATURE: 37.4}
    ),
    ObservationRow(PATIENT, AT, ObservationKind.CGM_GLUCOSE, "cgm-1", {Metric.GLUCOSE: 154.0}),
    ObservationRow(
        PATIENT,
        AT + timedelta(minutes=5),
        ObservationKind.CGM_GLUCOSE,
        "cgm-1",
        {Metric.GLUCOSE: 40.0},
        censored="below",
    ),
    ObservationRow(PATIENT, AT, ObservationKind.METER_GLUCOSE, "glu-1", {Metric.GLUCOSE: 99.0}),
]
DEVICES = [
    DeviceRow("bp_cuff-1", "bp_cuff", manufacturer="Omron", model="HEM-7600T"),
    DeviceRow("ox-1", "oximeter"),
    DeviceRow("scale-1", "scale"),
    DeviceRow("temp-1", "thermometer"),
    DeviceRow("cgm-1", "cgm"),
    DeviceRow("glu-1", "glucometer"),
]


def _bundle() -> dict[str, object]:
    resources = [patient(PatientRow(PATIENT, "김민준", record_number="MRN-1"))]
    resources += [device(d) for d in DEVICES] + [observation(r) for r in ROWS]
    return collection(BASE, resources)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.kind.value}-{r.censored}")
def test_every_kind_of_observation_is_valid_r4b_and_breaks_no_profile_rule(
    row: ObservationRow,
) -> None:
    resource = observation(row)
    assert_valid_r4b(resource)
    assert violations(resource) == []
    assert resource["code"]["coding"][0]["code"] == KINDS[row.kind].loinc


def test_the_bundle_patient_devices_and_an_alert_are_valid_and_every_reference_resolves() -> None:
    bundle = _bundle()
    assert_valid_r4b(bundle)
    assert unresolved_references(bundle) == []
    issue = detected_issue(
        AlertFacts(
            UUID(int=9),
            PATIENT,
            "spo2_low",
            40,
            "acknowledged",
            AT,
            "SpO2 93 % is below the patient's 94 %.",
            AT,
            None,
            None,
        ),
        evidence_ids=[observation(ROWS[2])["id"]],
    )
    assert_valid_r4b(issue)
    assert issue["severity"] == "high"
    assert issue["mitigation"][0]["action"]["text"] == "acknowledged"
    page = searchset(
        BASE,
        matches=[issue],
        included=[e["resource"] for e in bundle["entry"]],  # type: ignore[index,union-attr]
        self_url=BASE + "/DetectedIssue?patient=x",
        next_url=None,
    )
    assert_valid_r4b(page)
    assert unresolved_references(page) == []


def test_a_reference_to_a_device_not_in_the_bundle_is_found() -> None:
    resources = [patient(PatientRow(PATIENT, "p")), observation(ROWS[2])]
    assert unresolved_references(collection(BASE, resources)) == [
        f"Observation/{resources[1]['id']} -> Device/ox-1"
    ]


def test_the_bundle_parsed_back_gives_the_stored_readings() -> None:
    parsed = {(r.time, r.metric, r.value, r.device_id, r.censored) for r in readings(_bundle())}
    stored = {
        (row.time, metric, value, row.device_id, row.censored)
        for row in ROWS
        for metric, value in row.values.items()
    }
    assert parsed == stored
    assert len(parsed) == 10  # nine Observations, the panel two readings


def test_the_same_reading_always_gets_the_same_id_and_identifier() -> None:
    first, again = observation(ROWS[0]), observation(ROWS[0])
    assert first["id"] == again["id"]
    assert first["identifier"] == [
        {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{first['id']}"}
    ]
    assert observation(ROWS[1])["id"] != first["id"]


def test_a_devices_low_mark_is_a_comparator_and_an_off_scale_interpretation() -> None:
    low = observation(ROWS[7])
    assert low["valueQuantity"] == {
        "value": 40.0,
        "unit": "mg/dl",
        "system": "http://unitsofmeasure.org",
        "code": "mg/dL",
        "comparator": "<",
    }
    assert low["interpretation"][0]["coding"][0]["code"] == "<"


def test_the_structural_models_refuse_what_breaks_r4b() -> None:
    """The models we validate with do catch a broken resource (else the checks prove nothing)."""
    broken = observation(ROWS[2])
    broken["valueQuantity"]["value"] = "ninety"
    with pytest.raises(ValidationError):
        assert_valid_r4b(broken)
