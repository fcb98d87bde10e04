"""Domain exceptions shared by every stage. The API maps them to HTTP codes at its edge."""

from __future__ import annotations

from enum import StrEnum


class RejectionKind(StrEnum):
    """Why ingest refused a message or a reading, as a small fixed set (a metrics label and a
    stats key); the English reason beside it says the particulars."""

    NOT_JSON = "not_json"
    SCHEMA = "schema"
    TOO_LARGE = "too_large"
    IMPLAUSIBLE = "implausible"
    UNIT = "unit"
    METRIC = "metric"
    TIMESTAMP = "timestamp"
    UNKNOWN_DEVICE = "unknown_device"
    UNASSIGNED = "unassigned"
    REVOKED = "revoked"
    RETAINED = "retained"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    INTERNAL = "internal"
    OTHER = "other"
    """The payload claims another device, or the topic is not a device's readings topic."""


class VigilError(Exception):
    """Base of every error Vigil raises on purpose."""


class PayloadError(VigilError):
    """A device payload (or one reading in it) cannot be accepted; the message says why and
    ``kind`` says what sort of problem it is (each subclass has its own; a raise may say)."""

    kind: RejectionKind = RejectionKind.SCHEMA

    def __init__(self, reason: str, *, kind: RejectionKind | None = None) -> None:
        super().__init__(reason)
        if kind is not None:
            self.kind = kind


class UnknownMetric(PayloadError):
    kind = RejectionKind.METRIC


class UnknownUnit(PayloadError):
    kind = RejectionKind.UNIT


class ImplausibleValue(PayloadError):
    kind = RejectionKind.IMPLAUSIBLE


class InvalidInput(VigilError):
    """A value the caller chose cannot be accepted; the message says why (the API: 400)."""


class NotFound(VigilError):
    pass


class Conflict(VigilError):
    pass


class ServerStartError(VigilError):
    """An embedded PostgreSQL, Mosquitto or NATS server failed to start."""
