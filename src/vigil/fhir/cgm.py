"""The CGM IG's summary (``cgm-summary``, STU 1) from an AGP computation's figures.

Takes any mapping with the AGP field names (the reports package computes them; this module
computes nothing of its own): ``mean_mg_dl``, ``gmi_percent``, ``cv_percent``,
``time_in_ranges`` (fractions under the keys of ``GLUCOSE_RANGES``), ``active_percent``,
``daily`` (the days with readings), ``start``, ``end``.

As the IG publishes it: one summary Observation (LOINC 107931-8) whose ``hasMember`` references
one Observation per figure (mean glucose, times in ranges as a panel of five components, GMI,
CV, days of wear, sensor active percentage), each declaring its own profile; the summary comes
first in the list, its members after it, and all of them go in the Bundle. Without a mean, GMI
and CV (no readings, or a single one) no summary can meet the profile (they are 1..1): the
answer is an empty list.

>>> from datetime import UTC, datetime
>>> from uuid import UUID
>>> agp = {"mean_mg_dl": 154.2, "gmi_percent": 7.0, "cv_percent": 33.1, "active_percent": 96.0,
...     "daily": [{"readings": 288}] * 13, "start": datetime(2026, 11, 1, tzinfo=UTC),
...     "end": datetime(2026, 11, 15, tzinfo=UTC), "time_in_ranges": {"below_54": 0.01,
...     "54_69": 0.03, "70_180": 0.70, "181_250": 0.2, "above_250": 0.06}}
>>> parent, *members = summary(UUID(int=1), agp)
>>> parent["code"]["coding"][0]["code"], [m["code"]["coding"][0]["code"] for m in members]
('107931-8', ['97507-8', '106793-3', '97506-0', '104638-2', '104636-6', '104637-4'])
>>> members[4]["valueQuantity"]["value"], members[1]["component"][2]["valueQuantity"]["value"]
(13, 70.0)
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from vigil.clinical.fhir_profiles import (
    CGM_SUMMARY,
    CGM_SUMMARY_CODING,
    IDENTIFIER_URI,
    LABORATORY,
    OBSERVATION_CATEGORY,
    SUMMARY_MEMBERS,
    TIME_IN_RANGE_COMPONENTS,
    UCUM,
    Coding,
    SummaryFigure,
)

_NAMESPACE = uuid.UUID("2b8f3e7c-0c1a-4d7a-9a61-3f9f3d1c6e02")
PERCENT_PLACES = 2
"""The IG: percentages "with at least two decimal places of precision"."""


def _concept(coding: Coding) -> dict[str, Any]:
    # The label goes in text: LOINC's own display names are not ours to restate.
    return {"coding": [{"system": coding.system, "code": coding.code}], "text": coding.display}


def _quantity(value: float, figure: SummaryFigure) -> dict[str, Any]:
    spec = SUMMARY_MEMBERS[figure]
    return {"value": value, "unit": spec.unit, "system": UCUM, "code": spec.ucum}


def _percent(value: float) -> dict[str, Any]:
    return {"value": round(value, PERCENT_PLACES), "unit": "%", "system": UCUM, "code": "%"}


def _base(
    resource_id: str, patient_id: UUID, coding: Coding, period: dict[str, str], profile: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": {"profile": [profile]},
        "identifier": [{"system": IDENTIFIER_URI, "value": f"urn:uuid:{resource_id}"}],
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": LABORATORY}]}],
        "code": _concept(coding),
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectivePeriod": dict(period),
    }


def days_of_wear(agp: Mapping[str, Any]) -> int:
    """The days (in the clinic's time zone) with at least one CGM reading."""
    return sum(1 for day in agp["daily"] if int(day["readings"]) > 0)


def summary(patient_id: UUID, agp: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The summary Observation and then its six members; empty when the figures the profile
    requires (mean, GMI, CV) are not known."""
    if agp["mean_mg_dl"] is None or agp["gmi_percent"] is None or agp["cv_percent"] is None:
        return []
    start: datetime = agp["start"]
    end: datetime = agp["end"]
    key = f"{patient_id}/{start.isoformat()}/{end.isoformat()}"
    period = {"start": start.astimezone(UTC).isoformat(), "end": end.astimezone(UTC).isoformat()}
    ranges: Mapping[str, float] = agp["time_in_ranges"]
    values: dict[SummaryFigure, dict[str, Any]] = {
        SummaryFigure.MEAN_GLUCOSE: {
            "valueQuantity": _quantity(
                round(float(agp["mean_mg_dl"]), 1), SummaryFigure.MEAN_GLUCOSE
            )
        },
        SummaryFigure.TIMES_IN_RANGES: {
            "component": [
                {"code": _concept(coding), "valueQuantity": _percent(100.0 * ranges[name])}
                for name, coding in TIME_IN_RANGE_COMPONENTS.items()
            ]
        },
        SummaryFigure.GMI: {"valueQuantity": _percent(agp["gmi_percent"])},
        SummaryFigure.CV: {"valueQuantity": _percent(agp["cv_percent"])},
        SummaryFigure.DAYS_OF_WEAR: {
            "valueQuantity": _quantity(days_of_wear(agp), SummaryFigure.DAYS_OF_WEAR)
        },
        SummaryFigure.SENSOR_ACTIVE: {"valueQuantity": _percent(agp["active_percent"])},
    }
    members = []
    for figure, spec in SUMMARY_MEMBERS.items():
        member_id = str(uuid.uuid5(_NAMESPACE, f"{key}/{figure.value}"))
        members.append(
            _base(member_id, patient_id, spec.coding, period, spec.profile) | values[figure]
        )
    parent = _base(str(uuid.uuid5(_NAMESPACE, key)), patient_id, CGM_SUMMARY_CODING, period,
                   CGM_SUMMARY)  # fmt: skip
    parent["hasMember"] = [{"reference": f"Observation/{m['id']}"} for m in members]
    return [parent, *members]
