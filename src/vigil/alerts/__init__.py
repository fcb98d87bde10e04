"""Alerts: findings become alerts a care team works; notifications through a webhook outbox."""

from vigil.alerts.dispatcher import AlertWorker, WebhookDispatcher, sign
from vigil.alerts.models import (
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
from vigil.alerts.service import CHANNEL, AlertService

__all__ = [
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
    "DispatchPolicy",
    "Outcome",
    "WebhookDispatcher",
    "sign",
]
