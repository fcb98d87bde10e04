"""Stable FHIR ids: the same stored reading always gets the same id and identifier.

>>> device_fhir_id("bp_cuff-01"), device_id_of("bp.cuff-01")
('bp.cuff-01', 'bp_cuff-01')
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from uuid import UUID

from vigil.clinical.fhir_profiles import ObservationKind

_NAMESPACE = uuid.UUID("6f0d2a52-6a43-4b0e-9d0c-0c5b1d1b7a11")
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def observation_id(patient_id: UUID, kind: ObservationKind, device_id: str, time: datetime) -> str:
    key = f"{patient_id}/{kind.value}/{device_id}/{time.astimezone(UTC).isoformat()}"
    return str(uuid.uuid5(_NAMESPACE, key))


def device_fhir_id(device_id: str) -> str:
    """A device id (``[A-Za-z0-9_-]``) as a FHIR id (``[A-Za-z0-9.-]``): ``_`` becomes ``.``,
    which no device id contains, so the mapping is one to one."""
    return device_id.replace("_", ".")


def device_id_of(fhir_id: str) -> str | None:
    """The device id a FHIR id names (None: not an id we ever issue)."""
    if not _FHIR_ID.match(fhir_id) or "_" in fhir_id:
        return None
    return fhir_id.replace(".", "_")
