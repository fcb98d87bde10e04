"""An alert as a FHIR ``DetectedIssue``: what was seen, how serious, and the readings behind it.

A DetectedIssue, not a Flag: it carries what a care team and an EMR need of an alert (the
evidence Observations, a severity, the explanation as ``detail``, and what was done as
``mitigation``), for open and resolved alerts alike; a Flag only says "beware" while active,
with no evidence or severity. Status: ``preliminary`` while the alert is being worked (open,
acknowledged, snoozed), ``final`` once resolved, ``entered-in-error`` when resolved as a false
reading.

>>> from datetime import UTC, datetime
>>> from uuid import UUID
>>> at = datetime(2026, 11, 28, 7, tzinfo=UTC)
>>> issue = detected_issue(AlertFacts(UUID(int=9), UUID(int=1), "spo2_low", 40, "open",
...     at, "SpO2 85 % is below 88 %.", None, None, None), evidence_ids=["obs-1"])
>>> issue["severity"], issue["status"], issue["evidence"][0]["detail"][0]["reference"]
('high', 'preliminary', 'Observation/obs-1')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from vigil.clinical.fhir_profiles import DETECTED_ISSUE_SEVERITY, IDENTIFIER_URI
from vigil.clinical.findings import Severity

CAUSE_SYSTEM = "urn:vigil:alert-cause"
EVENT_SYSTEM = "urn:vigil:alert-event"
"""A webhook's DetectedIssue: what happened to the alert (opened, escalated, ...)."""


@dataclass(frozen=True, slots=True)
class AlertFacts:
    alert_id: UUID
    patient_id: UUID
    cause: str
    severity: int
    state: str
    first_seen: datetime
    sentence: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None


def _status(facts: AlertFacts) -> str:
    if facts.state != "resolved":
        return "preliminary"
    return "entered-in-error" if facts.outcome == "false_reading" else "final"


def detected_issue(facts: AlertFacts, *, evidence_ids: list[str]) -> dict[str, Any]:
    severity = Severity(facts.severity)
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": str(facts.alert_id),
        "identifier": [{"system": IDENTIFIER_URI, "value": f"urn:uuid:{facts.alert_id}"}],
        "status": _status(facts),
        "code": {
            "coding": [{"system": CAUSE_SYSTEM, "code": facts.cause}],
            "text": facts.cause.replace("_", " "),
        },
        "severity": DETECTED_ISSUE_SEVERITY[severity],
        "patient": {"reference": f"Patient/{facts.patient_id}"},
        "identifiedDateTime": facts.first_seen.astimezone(UTC).isoformat(),
        "detail": facts.sentence,
    }
    if evidence_ids:
        resource["evidence"] = [
            {"detail": [{"reference": f"Observation/{obs_id}"} for obs_id in evidence_ids]}
        ]
    mitigation = []
    for text, at in (("acknowledged", facts.acknowledged_at), ("resolved", facts.resolved_at)):
        if at is not None:
            mitigation.append({"action": {"text": text}, "date": at.astimezone(UTC).isoformat()})
    if mitigation:
        resource["mitigation"] = mitigation
    return resource


def webhook_issue(payload: dict[str, Any]) -> dict[str, Any]:
    """A webhook notification (``vigil.alerts.lifecycle.webhook_payload``) as a DetectedIssue
    tagged with its event; the evidence Observations are read with ``DetectedIssue?patient=``
    (a delivery carries what the outbox stored, not a query of the readings)."""
    alert = payload["alert"]
    facts = AlertFacts(
        alert_id=UUID(alert["id"]),
        patient_id=UUID(alert["patient_id"]),
        cause=alert["cause"],
        severity=int(Severity[str(alert["severity"]).upper()]),
        state=alert["state"],
        first_seen=datetime.fromisoformat(alert["opened_at"]),
        sentence=str(alert.get("explanation") or alert["cause"]),
        acknowledged_at=None,
        resolved_at=None,
        outcome=None,
    )
    issue = detected_issue(facts, evidence_ids=[])
    issue["meta"] = {"tag": [{"system": EVENT_SYSTEM, "code": str(payload["event"])}]}
    return issue
