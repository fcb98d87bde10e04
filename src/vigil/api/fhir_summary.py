"""The CGM IG's summary for a patient and period, from the AGP report's own computation, with
the Patient it is about: what ``Observation?code=107931-8`` and the REST summary export serve."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from vigil.api import fhir_repo
from vigil.api.fhir_repo import Conn
from vigil.fhir import patient, summary
from vigil.reports import build_agp


def cgm_summary(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the summary and its members, the Patient): the summary is the AGP of ``[start, end)``
    in ``time_zone``, as ``GET .../reports/agp`` answers it for the same period."""
    agp = build_agp(conn, patient_id=patient_id, start=start, end=end, time_zone=time_zone)
    found = fhir_repo.patient(conn, patient_id=patient_id)
    return summary(patient_id, agp.model_dump()), [patient(found)] if found is not None else []
