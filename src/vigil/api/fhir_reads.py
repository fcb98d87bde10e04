"""The FHIR reads both FHIR endpoints serve: a page of a patient's Observations with the
Patient and the Devices they reference, and a patient's alerts as DetectedIssues with the
Observations they cite."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from vigil.api import fhir_repo
from vigil.api.fhir_repo import Conn, Cursor
from vigil.clinical.fhir_profiles import KINDS, ObservationKind
from vigil.clinical.wording import explain
from vigil.core.metrics import Metric
from vigil.fhir import (
    AlertFacts,
    DeviceRow,
    detected_issue,
    device,
    observation,
    observation_id,
    patient,
)

ALL_KINDS: tuple[ObservationKind, ...] = tuple(KINDS)


@dataclass
class Page:
    matches: list[dict[str, Any]] = field(default_factory=list)
    included: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: Cursor | None = None


def kinds_of_metric(metric: Metric | None) -> tuple[ObservationKind, ...]:
    if metric is None:
        return ALL_KINDS
    return tuple(k for k, spec in KINDS.items() if metric in spec.metrics)


def _devices(conn: Conn, seen: dict[str, str | None]) -> list[dict[str, Any]]:
    known = {d.device_id: d for d in fhir_repo.devices(conn, device_ids=list(seen))}
    return [
        device(known.get(device_id) or DeviceRow(device_id, kind or "unknown"))
        for device_id, kind in sorted(seen.items())
    ]


def observation_page(
    conn: Conn,
    *,
    patient_id: UUID,
    kinds: Sequence[ObservationKind],
    start: datetime | None,
    end: datetime | None,
    after: Cursor | None,
    count: int,
) -> Page:
    """Up to ``count`` Observations, newest first, and the cursor of the next page if any;
    the Patient and every Device they reference are in ``included``."""
    rows = fhir_repo.observations(
        conn,
        patient_id=patient_id,
        kinds=kinds,
        start=start,
        end=end,
        after=after,
        limit=count + 1,
    )
    page = Page()
    if len(rows) > count:
        rows = rows[:count]
        page.next_cursor = rows[-1][2]
    page.matches = [observation(row) for row, _, _ in rows]
    found = fhir_repo.patient(conn, patient_id=patient_id)
    if found is not None:
        page.included.append(patient(found))
    page.included += _devices(conn, {row.device_id: kind for row, kind, _ in rows})
    return page


def _evidence_kinds(metrics: Sequence[str]) -> tuple[ObservationKind, ...]:
    known = {m.value for m in Metric}
    wanted = {Metric(m) for m in metrics if m in known}
    return tuple(k for k, spec in KINDS.items() if wanted & set(spec.metrics))


def _times(alert: dict[str, Any]) -> list[datetime]:
    times = [alert["first_seen"], alert["last_seen"]]
    for item in alert["explanation"].get("contributing", []):
        try:
            times.append(datetime.fromisoformat(item[0]))
        except (TypeError, ValueError, IndexError):
            continue  # an explanation without times cites the first and last readings only
    return times


def issue_page(
    conn: Conn, *, patient_id: UUID, after: tuple[datetime, UUID] | None, count: int
) -> tuple[Page, tuple[datetime, UUID] | None]:
    alerts = fhir_repo.alerts(conn, patient_id=patient_id, after=after, limit=count + 1)
    next_after = None
    if len(alerts) > count:
        alerts = alerts[:count]
        next_after = (alerts[-1]["first_seen"], alerts[-1]["id"])
    page = Page()
    evidence: dict[str, dict[str, Any]] = {}
    devices_seen: dict[str, str | None] = {}
    for a in alerts:
        rows = fhir_repo.observations(
            conn,
            patient_id=patient_id,
            kinds=_evidence_kinds(a["metrics"]),
            times=_times(a),
            limit=50,
        )
        ids = []
        for row, kind, _ in rows:
            obs_id = observation_id(row.patient_id, row.kind, row.device_id, row.time)
            ids.append(obs_id)
            evidence.setdefault(obs_id, observation(row))
            devices_seen[row.device_id] = kind
        facts = AlertFacts(
            a["id"],
            a["patient_id"],
            a["cause"],
            a["severity"],
            a["state"],
            a["first_seen"],
            # worded as the webhook words it (one template table), the stored English otherwise
            explain(a["explanation"], cause=a["cause"], detector=a["detector"], lang="en")
            or a["cause"],
            a["acknowledged_at"],
            a["resolved_at"],
            a["outcome"],
        )
        page.matches.append(detected_issue(facts, evidence_ids=ids))
    found = fhir_repo.patient(conn, patient_id=patient_id)
    if found is not None:
        page.included.append(patient(found))
    page.included += list(evidence.values()) + _devices(conn, devices_seen)
    return page, next_after
