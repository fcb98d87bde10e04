"""Vigil's data as FHIR R4 resources: the read side's mapping, used by the API and webhooks.

Pure functions from plain rows to FHIR JSON (dicts): Observations meeting the HL7 Vital
Signs, KR Core and CGM IG profiles, the Devices and Patient they reference, alerts as
DetectedIssues, the CGM summary, Bundles, and the profile rules the tests hold them to.
Codes and profile URLs come from :mod:`vigil.clinical.fhir_profiles`.
"""

from vigil.fhir.alerts import AlertFacts, detected_issue, webhook_issue
from vigil.fhir.bundle import collection, searchset
from vigil.fhir.cgm import summary
from vigil.fhir.cgm_rules import members_violations, summary_violations
from vigil.fhir.ids import device_fhir_id, device_id_of, observation_id
from vigil.fhir.models import DeviceRow, ObservationRow, PatientRow
from vigil.fhir.observations import observation
from vigil.fhir.parse import ParsedReading, readings
from vigil.fhir.resources import device, patient
from vigil.fhir.rules import RULES, unresolved_references, violations

__all__ = [
    "RULES",
    "AlertFacts",
    "DeviceRow",
    "ObservationRow",
    "ParsedReading",
    "PatientRow",
    "collection",
    "detected_issue",
    "device",
    "device_fhir_id",
    "device_id_of",
    "members_violations",
    "observation",
    "observation_id",
    "patient",
    "readings",
    "searchset",
    "summary",
    "summary_violations",
    "unresolved_references",
    "violations",
    "webhook_issue",
]
