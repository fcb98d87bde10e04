"""FHIR R4 export of a patient's readings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from vigil.api import clinical_repo
from vigil.api.deps import ConnDep, PatientDep
from vigil.api.fhir import bundle
from vigil.api.routers.patients import time_range
from vigil.core.metrics import Metric

router = APIRouter(tags=["fhir"])


@router.get(
    "/patients/{patient_id}/fhir/observations",
    responses={
        200: {
            "content": {"application/fhir+json": {}},
            "description": "A FHIR R4 Bundle (type collection) of vital-sign Observations",
        }
    },
)
def export_observations(
    scope: PatientDep,
    conn: ConnDep,
    metric: Metric | None = None,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Readings as Observations with LOINC codes and UCUM units (default: the last 30 days)."""
    lo, hi = time_range(start, end, timedelta(days=30))
    rows = clinical_repo.raw_readings(
        conn, patient_id=scope.patient_id, metric=metric, start=lo, end=hi, limit=limit
    )
    return bundle(scope.patient_id, rows)
