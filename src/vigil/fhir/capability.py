"""The CapabilityStatement: what the read API does, and nothing it does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vigil.clinical.fhir_profiles import CGM_SUMMARY, CGM_SUMMARY_CODING, KINDS, SUMMARY_MEMBERS
from vigil.clinical.glycaemia import REPORT_DAYS

_SEARCH_PATIENT = {
    "name": "patient",
    "type": "reference",
    "documentation": "Required: the patient (an id or Patient/id) the caller may see",
}
_COUNT = {"name": "_count", "type": "number", "documentation": "Page size (1-1000)"}


def capability_statement(base: str) -> dict[str, Any]:
    profiles = sorted({p for spec in KINDS.values() for p in spec.profiles})
    profiles += [CGM_SUMMARY, *(m.profile for m in SUMMARY_MEMBERS.values())]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(UTC).date().isoformat(),
        "kind": "instance",
        "software": {"name": "Vigil"},
        "implementation": {"description": "Vigil FHIR R4 read API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Read-only. A bearer token of a service account (or staff"
                " member) of the tenant; a patient outside the caller's care teams is 404.",
                "security": {
                    "service": [{"text": "Bearer token of a service account (not OAuth)"}],
                    "description": "Authorization: Bearer <token>; an administrator creates"
                    " the service account and its token (POST /api/v1/service-accounts).",
                },
                "resource": [
                    {"type": "Patient", "interaction": [{"code": "read"}]},
                    {"type": "Device", "interaction": [{"code": "read"}]},
                    {
                        "type": "Observation",
                        "supportedProfile": profiles,
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [
                            _SEARCH_PATIENT,
                            {"name": "category", "type": "token"},
                            {
                                "name": "code",
                                "type": "token",
                                "documentation": "LOINC. "
                                f"{CGM_SUMMARY_CODING.code} (alone) answers the HL7 CGM IG's"
                                " summary of the date range (ge its start, le or lt its end;"
                                f" default the last {REPORT_DAYS} days), computed as the AGP"
                                " report, with"
                                " its six hasMember Observations included",
                            },
                            {
                                "name": "date",
                                "type": "date",
                                "documentation": "ge, gt, le, lt, eq; a date is its UTC day",
                            },
                            _COUNT,
                        ],
                    },
                    {
                        "type": "DetectedIssue",
                        "interaction": [{"code": "search-type"}],
                        "searchParam": [_SEARCH_PATIENT, _COUNT],
                    },
                ],
            }
        ],
    }
