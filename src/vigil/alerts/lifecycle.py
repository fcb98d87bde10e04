"""The primitives every alert change shares: lock, transition, resolve, notify, announce.

Every change writes, in the caller's one transaction: the alert row, an alert event (for state
changes), outbox deliveries for the webhooks that should hear of it, and a NOTIFY on
``vigil_alert_changes`` that PostgreSQL delivers to listeners (the API's SSE) at commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from vigil.alerts import repo
from vigil.alerts.models import (
    MISSING_DATA_PREFIX,
    Alert,
    AlertChange,
    AlertPolicy,
    AlertState,
    ChangeKind,
    Outcome,
)
from vigil.clinical.findings import Finding
from vigil.clinical.wording import explain
from vigil.core.errors import Conflict, NotFound

CHANNEL = "vigil_alert_changes"
Conn = repo.Conn


def now_utc() -> datetime:
    return datetime.now(UTC)


def explanation_json(finding: Finding) -> dict[str, Any]:
    data = asdict(finding.explanation)
    data["contributing"] = [[t.isoformat(), v] for t, v in finding.explanation.contributing]
    if finding.age_s > 60:
        data["data_age_s"] = finding.age_s
        data["late_note"] = f"raised from data {_human_age(finding.age_s)} old (late upload)"
    return json.loads(json.dumps(data, default=str))  # type: ignore[no-any-return]


def reading_json(finding: Finding) -> dict[str, Any]:
    """The reading behind a finding, as an alert's card shows it: its time, metric and value
    (systolic and diastolic for blood pressure), and a device's LOW/HIGH mark."""
    details = finding.explanation.details
    reading: dict[str, Any] = {
        "time": finding.time.isoformat(),
        "metric": details.get("metric") or (finding.metrics[0] if finding.metrics else None),
        "value": finding.explanation.value,
        "severity": int(finding.severity),
        "score": finding.score,
    }
    for key in ("systolic", "diastolic", "censored"):
        if details.get(key) is not None:
            reading[key] = details[key]
    return reading


def _human_age(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 60:.0f} minutes"


class Lifecycle:
    """Shared by :class:`~vigil.alerts.service.AlertService`'s detector, people and clock paths."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy or AlertPolicy()

    def _lock_unresolved(self, conn: Conn, alert_id: UUID) -> Alert:
        alert = repo.lock_alert(conn, alert_id=alert_id)
        if alert is None:
            raise NotFound(f"no alert {alert_id}")
        if alert.state is AlertState.RESOLVED:
            raise Conflict(f"alert {alert_id} is resolved")
        return alert

    def _transition(
        self,
        conn: Conn,
        alert: Alert,
        values: dict[str, Any],
        kind: ChangeKind,
        user_id: UUID | None,
        note: str | None,
        details: dict[str, Any] | None = None,
    ) -> AlertChange:
        updated = repo.update_alert(conn, alert_id=alert.id, values=values)
        repo.insert_event(
            conn,
            alert_id=alert.id,
            kind=kind,
            actor_user_id=user_id,
            from_state=alert.state,
            to_state=updated.state,
            note=note,
            details=details,
        )
        change = self._change(updated, kind, now_utc())
        self._announce(conn, change)
        return change

    def _resolve(
        self,
        conn: Conn,
        alert: Alert,
        user_id: UUID | None,
        outcome: Outcome,
        note: str | None,
        now: datetime,
    ) -> AlertChange:
        updated = repo.update_alert(
            conn,
            alert_id=alert.id,
            values={
                "state": AlertState.RESOLVED.value,
                "resolved_at": now,
                "resolved_by": user_id,
                "outcome": outcome.value,
                "snoozed_until": None,
                "escalate_at": None,
            },
        )
        repo.insert_event(
            conn,
            alert_id=alert.id,
            kind=ChangeKind.RESOLVED,
            actor_user_id=user_id,
            from_state=alert.state,
            to_state=AlertState.RESOLVED,
            note=note,
            details={"outcome": outcome.value},
        )
        return self._change(updated, ChangeKind.RESOLVED, now)

    def _notify(self, conn: Conn, alert: Alert, kind: ChangeKind, *, level: int) -> None:
        notification = self._notification(alert, kind, level=level)
        if notification is not None:
            repo.enqueue_notification(conn, **notification)

    def _notification(self, alert: Alert, kind: ChangeKind, *, level: int) -> dict[str, Any] | None:
        """The outbox row a change makes (as keyword arguments), if it is worth a webhook."""
        if alert.severity < self.policy.notify_min_severity:
            return None
        return {
            "tenant_id": alert.tenant_id,
            "alert_id": alert.id,
            "kind": kind.value,
            "level": level,
            "severity": alert.severity,
            "payload": webhook_payload(alert, kind),
        }

    @staticmethod
    def _announce(conn: Conn, change: AlertChange) -> None:
        repo.notify_change(conn, channel=CHANNEL, payload=json.dumps(change.as_json()))

    @staticmethod
    def _change(alert: Alert, kind: ChangeKind, now: datetime) -> AlertChange:
        return AlertChange(
            alert_id=alert.id,
            tenant_id=alert.tenant_id,
            patient_id=alert.patient_id,
            cause=alert.cause,
            kind=kind,
            state=alert.state,
            severity=alert.severity,
            at=now,
            sentence=alert_sentence(alert, "en"),
            sentence_ko=alert_sentence(alert, "ko"),
        )


def webhook_payload(alert: Alert, kind: ChangeKind) -> dict[str, Any]:
    """What a receiver gets: ids and the explanation, never the patient's name."""
    return {
        "event": kind.value,
        "alert": {
            "id": str(alert.id),
            "patient_id": str(alert.patient_id),
            "cause": alert.cause,
            "state": alert.state.value,
            "severity": alert.severity.name.lower(),
            "escalation_level": alert.escalation_level,
            "metrics": list(alert.metrics),
            "last_value": alert.last_value,
            "explanation": alert_sentence(alert, "en"),
            "explanation_ko": alert_sentence(alert, "ko"),
            "opened_at": alert.opened_at.isoformat(),
        },
    }


def alert_sentence(alert: Alert, lang: str) -> str:
    """The alert's explanation worded in ``lang`` (:mod:`vigil.clinical.wording`)."""
    return explain(alert.explanation, cause=alert.cause, detector=alert.detector, lang=lang)


def is_missing_data(cause: str) -> bool:
    return cause.startswith(MISSING_DATA_PREFIX)


def changes_json(changes: Iterable[AlertChange]) -> list[dict[str, Any]]:
    return [c.as_json() for c in changes]
