"""The Patient and Device resources the Observations reference.

>>> d = device(DeviceRow("bp_cuff-1", "bp_cuff", manufacturer="Omron"))
>>> d["id"], d["identifier"][0]["value"], d["type"]["text"], d["manufacturer"]
('bp.cuff-1', 'bp_cuff-1', 'Blood pressure cuff', 'Omron')
"""

from __future__ import annotations

from typing import Any

from vigil.clinical.fhir_profiles import DEVICE_TYPES
from vigil.fhir.ids import device_fhir_id
from vigil.fhir.models import DeviceRow, PatientRow

DEVICE_ID_SYSTEM = "urn:vigil:device-id"
"""The identifier system of a Vigil device id (what the device authenticates to the broker as)."""
PATIENT_ID_SYSTEM = "urn:vigil:patient-id"
RECORD_NUMBER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"


def device(row: DeviceRow, *, patient_id: str | None = None) -> dict[str, Any]:
    english, korean = DEVICE_TYPES.get(row.kind, (row.kind, row.kind))
    resource: dict[str, Any] = {
        "resourceType": "Device",
        "id": device_fhir_id(row.device_id),
        "identifier": [{"system": DEVICE_ID_SYSTEM, "value": row.device_id}],
        "status": "active",
        "type": {
            "coding": [{"system": DEVICE_ID_SYSTEM + ":kind", "code": row.kind}],
            "text": english,
        },
        "deviceName": [{"name": korean, "type": "user-friendly-name"}],
    }
    if row.manufacturer:
        resource["manufacturer"] = row.manufacturer
    if row.model:
        resource["modelNumber"] = row.model
    if patient_id is not None:
        resource["patient"] = {"reference": f"Patient/{patient_id}"}
    return resource


def patient(row: PatientRow) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [
        {"system": PATIENT_ID_SYSTEM, "value": str(row.patient_id)}
    ]
    if row.record_number:
        identifiers.append(
            {
                "use": "usual",
                "type": {"coding": [{"system": RECORD_NUMBER_TYPE, "code": "MR"}]},
                "value": row.record_number,
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(row.patient_id),
        "identifier": identifiers,
        "active": row.active,
        "name": [{"text": row.display_name}],
    }
    if row.birth_date is not None:
        resource["birthDate"] = row.birth_date.isoformat()
    return resource
