"""The CGM IG's summary (``cgm-summary``) from an AGP computation's figures.

Takes any object with the AGP field names (the reports package computes them; this module
computes nothing of its own): ``mean_mg_dl``, ``gmi_percent``, ``cv_percent``,
``time_in_ranges`` (fractions under ``below_54``, ``54_69``, ``70_180``, ``181_250``,
``above_250``), ``active_percent``, ``days``, ``start``, ``end``.

The codes are the IG's (``cgm-summary-codes-temporary``); the figures go as components of one
Observation, where the IG's ``cgm-summary`` profile has one Observation per figure referenced
by ``hasMember``: so no ``meta.profile`` is claimed (docs/fhir.md).

>>> from datetime import UTC, datetime
>>> from uuid import UUID
>>> agp = {"mean_mg_dl": 154.2, "gmi_percent": 7.0, "cv_percent": 33.1, "active_percent": 96.0,
...     "days": 14, "start": datetime(2026, 11, 1, tzinfo=UTC),
...     "end": datetime(2026, 11, 15, tzinfo=UTC), "time_in_ranges": {"below_54": 0.01,
...     "54_69": 0.03, "70_180": 0.70, "181_250": 0.2, "above_250": 0.06}}
>>> s = summary(UUID(int=1), agp)
>>> s["code"]["coding"][0]["code"], [c["code"]["coding"][0]["code"] for c in s["component"]][:3]
('cgm-summary', ['mean-glucose-mass-per-volume', 'time-in-very-low', 'time-in-low'])
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from vigil.clinical.fhir_profiles import (
    CGM_SUMMARY_CODES,
    LABORATORY,
    OBSERVATION_CATEGORY,
    UCUM,
)


class AgpFigures(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


_RANGES = (
    ("below_54", "time-in-very-low", "Time in Very Low Range (%)"),
    ("54_69", "time-in-low", "Time in Low Range (%)"),
    ("70_180", "time-in-target", "Time in Target Range (%)"),
    ("181_250", "time-in-high", "Time in High Range (%)"),
    ("above_250", "time-in-very-high", "Time in Very High Range (%)"),
)
_NAMESPACE = uuid.UUID("2b8f3e7c-0c1a-4d7a-9a61-3f9f3d1c6e02")


def _component(code: str, display: str, value: float, ucum: str, unit: str) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": CGM_SUMMARY_CODES, "code": code, "display": display}]},
        "valueQuantity": {"value": round(value, 2), "unit": unit, "system": UCUM, "code": ucum},
    }


def summary(patient_id: UUID, agp: AgpFigures | Mapping[str, Any]) -> dict[str, Any]:
    start: datetime = agp["start"]
    end: datetime = agp["end"]
    key = f"{patient_id}/{start.isoformat()}/{end.isoformat()}"
    ranges: Mapping[str, float] = agp["time_in_ranges"]
    components = [
        _component(
            "mean-glucose-mass-per-volume",
            "Mean Glucose (Mass per Volume)",
            agp["mean_mg_dl"],
            "mg/dL",
            "mg/dL",
        ),
        *(
            _component(code, display, 100.0 * ranges[name], "%", "%")
            for name, code, display in _RANGES
        ),
        _component("gmi", "Glucose Management Indicator (GMI)", agp["gmi_percent"], "%", "%"),
        _component("cv", "Coefficient of Variation (CV)", agp["cv_percent"], "%", "%"),
        _component("days-of-wear", "Days of Wear", agp["days"], "d", "days"),
        _component(
            "sensor-active-percentage", "Sensor Active Percentage", agp["active_percent"], "%", "%"
        ),
    ]
    return {
        "resourceType": "Observation",
        "id": str(uuid.uuid5(_NAMESPACE, key)),
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": LABORATORY}]}],
        "code": {"coding": [{"system": CGM_SUMMARY_CODES, "code": "cgm-summary"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectivePeriod": {
            "start": start.astimezone(UTC).isoformat(),
            "end": end.astimezone(UTC).isoformat(),
        },
        "component": components,
    }
