"""What the mapping takes: plain rows, as the read side's queries return them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from vigil.clinical.fhir_profiles import ObservationKind
from vigil.core.metrics import Metric


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One Observation's worth of stored readings: one reading, or a cuff's systolic and
    diastolic taken at the same instant by the same device."""

    patient_id: UUID
    time: datetime
    kind: ObservationKind
    device_id: str
    values: dict[Metric, float]
    censored: str | None = None
    """``below`` / ``above``: the device's LOW / HIGH mark, stored at its bound."""


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    kind: str
    manufacturer: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class PatientRow:
    patient_id: UUID
    display_name: str
    birth_date: date | None = None
    record_number: str | None = None
    active: bool = True
