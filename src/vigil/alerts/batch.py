"""A batch of findings' writes, held in memory and sent in one pipeline.

The detector path (:meth:`vigil.alerts.AlertService.apply`) locks every alert a batch touches
in one or two statements, works out each finding's change on the locked rows in memory, then
writes the alerts' final rows, the audit events, the outbox rows and the NOTIFYs here: a
bounded number of round trips per batch instead of three or more per finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from vigil.alerts import repo
from vigil.alerts.lifecycle import CHANNEL
from vigil.alerts.models import Alert, AlertState, Outcome
from vigil.clinical.findings import Severity

_TYPES: dict[str, Any] = {
    "state": AlertState,
    "severity": Severity,
    "outcome": lambda v: Outcome(v) if v else None,
    "causes": tuple,
    "metrics": tuple,
}


def with_values(alert: Alert, values: dict[str, Any]) -> Alert:
    """The alert as :func:`vigil.alerts.repo.update_alert` would return it."""
    return replace(alert, **{k: _TYPES.get(k, _same)(v) for k, v in values.items()})


def _same(value: Any) -> Any:
    return value


@dataclass
class Writes:
    updated: dict[UUID, Alert] = field(default_factory=dict)
    """Alerts changed in memory, by id: their last state is what is written."""
    events: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def update(self, alert: Alert, values: dict[str, Any]) -> Alert:
        updated = self.updated[alert.id] = with_values(alert, values)
        return updated

    def event(self, **event: Any) -> None:
        self.events.append(event)

    def notify(self, notification: dict[str, Any] | None) -> None:
        if notification is not None:
            self.notifications.append(notification)

    def flush(self, conn: repo.Conn, *, announce: Sequence[str] = ()) -> None:
        """Alert rows first (events and outbox rows refer to them), then the NOTIFY payloads
        ``announce`` (delivered at commit), in one pipeline."""
        if not (self.updated or self.events or self.notifications or announce):
            return
        with conn.pipeline():
            repo.update_alerts(conn, alerts=list(self.updated.values()))
            repo.insert_events(conn, events=self.events)
            repo.enqueue_notifications(conn, notifications=self.notifications)
            repo.notify_changes(conn, channel=CHANNEL, payloads=announce)
