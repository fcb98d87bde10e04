"""Alerts: findings become alerts a care team works; notifications through a webhook outbox."""

from vigil.alerts.destinations import DestinationPolicy, UnsafeDestination, check_destination
from vigil.alerts.dispatcher import AlertWorker, WebhookDispatcher, sign
from vigil.alerts.models import (
    AUTO_RESOLVED_SHOWN,
    Alert,
    AlertChange,
    AlertEvent,
    AlertPolicy,
    AlertState,
    ChangeKind,
    Delivery,
    DeliveryState,
    DispatchPolicy,
    Outcome,
)
from vigil.alerts.repo import (
    ALERT_COLUMNS,
    add_webhook,
    alert_from_row,
    get_alert,
    list_deliveries,
    list_events,
)
from vigil.alerts.service import CHANNEL, AlertService

__all__ = [
    "ALERT_COLUMNS",
    "AUTO_RESOLVED_SHOWN",
    "CHANNEL",
    "Alert",
    "AlertChange",
    "AlertEvent",
    "AlertPolicy",
    "AlertService",
    "AlertState",
    "AlertWorker",
    "ChangeKind",
    "Delivery",
    "DeliveryState",
    "DestinationPolicy",
    "DispatchPolicy",
    "Outcome",
    "UnsafeDestination",
    "WebhookDispatcher",
    "add_webhook",
    "alert_from_row",
    "check_destination",
    "get_alert",
    "list_deliveries",
    "list_events",
    "sign",
]
