"""Alerts as a nurse would count them without Vigil's episodes: findings of one patient and
episode (a predicted, a level-1 and an urgent low are one low-glucose state) with no more than
``gap`` (30 minutes) between one and the next are one alert; a quiet gap longer than that and
the next finding is a new alert.

>>> from datetime import UTC, datetime, timedelta
>>> from uuid import uuid4
>>> from vigil.clinical.findings import Explanation, Severity
>>> t0, patient = datetime(2026, 1, 5, 3, tzinfo=UTC), uuid4()
>>> def low(minute, cause):
...     return Finding(patient, cause, ("glucose",), t0 + timedelta(minutes=minute), "d",
...                    Severity.HIGH, 1.0, Explanation("low"))
>>> found = [low(0, "predicted_low"), low(20, "hypoglycemia"), low(70, "hypoglycemia")]
>>> alerts = nurse_alerts(found)
>>> [(a.episode, len(a.findings)) for a in alerts]
[('low_glucose', 2), ('low_glucose', 1)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from vigil.alerts.episodes import episode_of
from vigil.clinical.findings import Finding, Severity

NURSE_GAP = timedelta(minutes=30)


@dataclass(slots=True)
class NurseAlert:
    patient_id: UUID
    episode: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def severity(self) -> Severity:
        return max(f.severity for f in self.findings)


def nurse_alerts(findings: Iterable[Finding], gap: timedelta = NURSE_GAP) -> list[NurseAlert]:
    """Findings grouped by patient and episode, a new alert after each quiet ``gap`` (data
    time)."""
    latest: dict[tuple[UUID, str], NurseAlert] = {}
    out: list[NurseAlert] = []
    for f in sorted(findings, key=lambda f: f.time):
        key = (f.patient_id, episode_of(f.cause))
        alert = latest.get(key)
        if alert is None or f.time - alert.findings[-1].time > gap:
            alert = latest[key] = NurseAlert(f.patient_id, key[1])
            out.append(alert)
        alert.findings.append(f)
    return out
