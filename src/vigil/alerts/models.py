"""Alert records, their states and outcomes, and the policy that shapes their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from vigil.clinical.findings import Severity


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"


class Outcome(StrEnum):
    """Why an alert was resolved: the numbers behind the alarm-burden report."""

    ACTIONABLE = "actionable"
    NOT_ACTIONABLE = "not_actionable"
    FALSE_READING = "false_reading"
    DUPLICATE = "duplicate"
    ANSWERED_BY_DATA = "answered_by_data"
    """A missing-data alert that a late (backlog) upload answered; resolved by the system."""
    EPISODE_ENDED = "episode_ended"
    """A seen (acknowledged or snoozed) alert whose episode ended; resolved by the system."""


class ChangeKind(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    SEVERITY_RAISED = "severity_raised"
    CAUSE_CHANGED = "cause_changed"
    """The episode moved to another of its causes without a higher severity (de-escalation)."""
    REOPENED = "reopened"
    ACKNOWLEDGED = "acknowledged"
    SNOOZED = "snoozed"
    UNSNOOZED = "unsnoozed"
    RESOLVED = "resolved"
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"


AUTO_RESOLVED_SHOWN = timedelta(hours=1)
"""How long the inbox keeps showing an alert the system resolved (its episode ended), marked
as such, so that it does not leave the team's view without a word."""

MISSING_DATA_DETECTOR = "missing_data"
"""Alerts from this detector (and causes starting with its name) are about data that did
not arrive: readings in the gap answer them."""
MISSING_DATA_PREFIX = MISSING_DATA_DETECTOR


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """How alerts behave. Every parameter has a default a care team can live with."""

    escalate_after: timedelta = timedelta(minutes=15)
    """A critical alert not acknowledged within this time escalates to the next level."""
    max_escalation_level: int = 2
    quiet_period: timedelta = timedelta(minutes=30)
    """A finding within this time of its cause's last resolution reopens that alert instead of
    opening a new one: values flapping around a threshold do not open and close alerts."""
    notify_min_severity: Severity = Severity.WARNING
    seen_critical_hold: timedelta = timedelta(minutes=30)
    """An acknowledged or snoozed critical alert whose episode is over is resolved by the
    system only once this time has passed since it was acknowledged (or, snoozed without
    acknowledgement, last acted on): a nurse's critical alert does not vanish unseen."""


@dataclass(frozen=True, slots=True)
class AlertChange:
    """What happened to an alert: returned to callers, broadcast to SSE, sent to webhooks."""

    alert_id: UUID
    tenant_id: UUID
    patient_id: UUID
    cause: str
    kind: ChangeKind
    state: AlertState
    severity: Severity
    at: datetime
    sentence: str | None = None
    """The alert's explanation, in one plain sentence (English)."""
    sentence_ko: str | None = None
    """The same in Korean."""

    def as_json(self) -> dict[str, Any]:
        return {
            "alert_id": str(self.alert_id),
            "tenant_id": str(self.tenant_id),
            "patient_id": str(self.patient_id),
            "cause": self.cause,
            "kind": self.kind.value,
            "state": self.state.value,
            "severity": self.severity.name.lower(),
            "at": self.at.isoformat(),
            "explanation": (self.sentence or "")[:2000],
            # NOTIFY carries at most 8000 bytes: 2000 characters of English and 1000 of
            # Korean (3 bytes each in UTF-8) leave room for the rest.
            "explanation_ko": (self.sentence_ko or "")[:1000],
        }


@dataclass(frozen=True, slots=True)
class Alert:
    id: UUID
    tenant_id: UUID
    patient_id: UUID
    cause: str
    metrics: tuple[str, ...]
    detector: str
    state: AlertState
    severity: Severity
    score: float
    finding_count: int
    first_seen: datetime
    last_seen: datetime
    last_value: float | None
    explanation: dict[str, Any]
    data_age_s: float
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    snoozed_until: datetime | None
    resolved_at: datetime | None
    resolved_by: UUID | None
    outcome: Outcome | None
    escalation_level: int
    escalate_at: datetime | None
    episode: str = ""
    """The episode key (:mod:`vigil.alerts.episodes`): one unresolved alert per patient and
    episode; ``cause`` is the episode's current cause."""
    causes: tuple[str, ...] = ()
    """Every cause the episode has seen."""
    worst_value: float | None = None
    readings: dict[str, Any] = field(default_factory=dict)
    """The readings the card shows: ``opened``, ``latest`` and ``worst``
    (:func:`vigil.alerts.lifecycle.reading_json`), each with its time."""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: int
    alert_id: UUID
    at: datetime
    kind: str
    actor_user_id: UUID | None
    from_state: AlertState | None
    to_state: AlertState | None
    severity: Severity | None
    note: str | None
    details: dict[str, Any]


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 300.0
    timeout_s: float = 5.0
    batch: int = 50

    def backoff(self, attempts: int) -> timedelta:
        """Delay after the ``attempts``-th failed try: exponential, capped.

        >>> DispatchPolicy().backoff(1), DispatchPolicy().backoff(3)
        (datetime.timedelta(seconds=1), datetime.timedelta(seconds=4))
        """
        seconds = min(self.backoff_base_s * 2 ** max(attempts - 1, 0), self.backoff_max_s)
        return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    outbox_id: int
    webhook_id: UUID
    alert_id: UUID
    kind: str
    idempotency_key: UUID
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
