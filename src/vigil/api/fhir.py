"""FHIR R4: a patient's readings as a Bundle of Observations (LOINC codes, UCUM units).

>>> from datetime import UTC, datetime
>>> from uuid import UUID
>>> obs = observation(UUID(int=1), {"time": datetime(2026, 11, 28, 7, tzinfo=UTC),
...     "metric": "spo2", "value": 85.0, "device_id": "ox-1"})
>>> obs["code"]["coding"][0]["code"], obs["valueQuantity"]["code"]
('59408-5', '%')

A CGM's LOW / HIGH mark is the bound with its comparator (Quantity.comparator):

>>> low = observation(UUID(int=1), {"time": datetime(2026, 11, 28, 7, tzinfo=UTC),
...     "metric": "glucose", "value": 40.0, "device_id": "cgm-1", "censored": "below"})
>>> low["valueQuantity"]["comparator"], low["valueQuantity"]["value"]
('<', 40.0)
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from vigil.core.metrics import SPECS, Metric

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("6f0d2a52-6a43-4b0e-9d0c-0c5b1d1b7a11")


def observation(patient_id: UUID, reading: dict[str, Any]) -> dict[str, Any]:
    metric = Metric(reading["metric"])
    spec = SPECS[metric]
    time: datetime = reading["time"]
    obs_id = uuid.uuid5(_NAMESPACE, f"{patient_id}/{metric.value}/{time.isoformat()}")
    category = _CATEGORY.get(metric, "vital-signs")
    coding = [{"system": LOINC, "code": spec.loinc, "display": spec.display}] if spec.loinc else []
    return {
        "resourceType": "Observation",
        "id": str(obs_id),
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {
            **({"coding": coding} if coding else {}),
            "text": spec.display,
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": time.astimezone(UTC).isoformat(),
        "valueQuantity": {
            "value": reading["value"],
            "unit": spec.ucum,
            "system": UCUM,
            "code": spec.ucum,
            **_COMPARATOR.get(reading.get("censored"), {}),
        },
        "device": {"display": reading["device_id"]},
    }


_CATEGORY: dict[Metric, str] = {
    Metric.GLUCOSE: "laboratory",
    Metric.INSULIN: "therapy",
    Metric.CARBS: "therapy",
}
"""Observation categories other than vital signs: a pump's insulin and entered carbohydrate
are what was done for the patient's diabetes (a bolus has no LOINC code of its own: text only)."""


_COMPARATOR: dict[str | None, dict[str, str]] = {
    "below": {"comparator": "<"},
    "above": {"comparator": ">"},
}
"""A reading censored at the device's range: the true value is below / above the bound."""


def bundle(patient_id: UUID, readings: list[dict[str, Any]]) -> dict[str, Any]:
    entries = []
    for r in readings:
        obs = observation(patient_id, r)
        entries.append({"fullUrl": f"urn:uuid:{obs['id']}", "resource": obs})
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": datetime.now(UTC).isoformat(),
        "total": len(entries),
        "entry": entries,
    }
