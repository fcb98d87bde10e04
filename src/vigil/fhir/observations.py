"""Stored readings as Observations that meet the HL7 Vital Signs, KR Core and CGM IG profiles.

>>> from datetime import UTC, datetime
>>> from uuid import UUID
>>> from vigil.core.metrics import Metric
>>> at = datetime(2026, 11, 28, 7, tzinfo=UTC)
>>> bp = observation(ObservationRow(UUID(int=1), at, ObservationKind.BLOOD_PRESSURE, "cuff-1",
...     {Metric.BP_SYSTOLIC: 138.0, Metric.BP_DIASTOLIC: 86.0}))
>>> bp["code"]["coding"][0]["code"], [c["code"]["coding"][0]["code"] for c in bp["component"]]
('85354-9', ['8480-6', '8462-4'])
>>> bp["device"]["reference"], bp["meta"]["profile"][0]
('Device/cuff-1', 'http://hl7.org/fhir/StructureDefinition/bp')

A CGM's LOW is its bound with a comparator and the "off scale low" interpretation:

>>> low = observation(ObservationRow(UUID(int=1), at, ObservationKind.CGM_GLUCOSE, "cgm-1",
...     {Metric.GLUCOSE: 40.0}, censored="below"))
>>> low["valueQuantity"]["comparator"], low["interpretation"][0]["coding"][0]["code"]
('<', '<')
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from vigil.clinical.fhir_profiles import (
    BP_COMPONENTS,
    CENSORED_INTERPRETATION,
    COMPARATOR,
    IDENTIFIER_URI,
    KINDS,
    OBSERVATION_CATEGORY,
    UCUM,
    Coding,
    ObservationKind,
)
from vigil.fhir.ids import device_fhir_id, observation_id
from vigil.fhir.models import ObservationRow

_CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}


def _coding(c: Coding) -> dict[str, str]:
    return {"system": c.system, "code": c.code, "display": c.display}


def _quantity(value: float, ucum: str, unit: str, censored: str | None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit, "system": UCUM, "code": ucum}
    if censored in COMPARATOR:
        q["comparator"] = COMPARATOR[censored]
    return q


def observation(row: ObservationRow) -> dict[str, Any]:
    spec = KINDS[row.kind]
    obs_id = observation_id(row.patient_id, row.kind, row.device_id, row.time)
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": obs_id,
        **({"meta": {"profile": list(spec.profiles)}} if spec.profiles else {}),
        "identifier": [{"system": IDENTIFIER_URI, "value": f"urn:uuid:{obs_id}"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": OBSERVATION_CATEGORY,
                        "code": spec.category,
                        "display": _CATEGORY_DISPLAY[spec.category],
                    }
                ],
                "text": _CATEGORY_DISPLAY[spec.category],
            }
        ],
        "code": {
            "coding": [_coding(c) for c in spec.codings],
            "text": spec.codings[0].display,
        },
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "effectiveDateTime": row.time.astimezone(UTC).isoformat(),
    }
    if row.kind is ObservationKind.BLOOD_PRESSURE:
        resource["component"] = [
            {
                "code": {"coding": [_coding(coding)], "text": coding.display},
                "valueQuantity": _quantity(row.values[metric], spec.ucum, spec.unit_display, None),
            }
            for metric, coding in BP_COMPONENTS.items()
        ]
    else:
        (metric,) = spec.metrics
        resource["valueQuantity"] = _quantity(
            row.values[metric], spec.ucum, spec.unit_display, row.censored
        )
        if row.censored in CENSORED_INTERPRETATION:
            coding = CENSORED_INTERPRETATION[row.censored]
            resource["interpretation"] = [{"coding": [_coding(coding)], "text": coding.display}]
    resource["device"] = {"reference": f"Device/{device_fhir_id(row.device_id)}"}
    return resource
