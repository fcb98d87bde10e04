"""Shared domain records. Every timestamp is timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from vigil.core.errors import RejectionKind
from vigil.core.metrics import Censored, Metric


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement of one metric from a device, already in canonical units."""

    time: datetime
    metric: Metric
    value: float
    device_id: str
    censored: Censored | None = None
    """'below' or 'above' for a device's out-of-range mark (a CGM's LOW/HIGH): ``value`` is then
    the device's bound, the true value at most / at least that."""


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading committed to storage, attributed to a patient: what ingest hands on."""

    time: datetime
    patient_id: UUID
    metric: Metric
    value: float
    device_id: str
    received_at: datetime
    censored: Censored | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message, or one reading inside it, was not accepted: the kind, and the reason in
    words for whoever reads the rejected message."""

    kind: RejectionKind
    reason: str
    item: int | None = None
    """Index of the rejected reading in the payload's batch; None when the whole message failed."""
    raw_item: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """What one inbound message stored for one patient: ingest's unit of hand-off to detection.

    ``readings`` are every reading of the message that is in storage with this value, newly
    inserted or already there (a redelivered message hands its readings on again; the stream
    drops the repeat by ``key``). ``key`` is the same for the same readings, whenever and by
    whichever ingest instance they are handed on.
    """

    key: str
    patient_id: UUID
    device_id: str
    readings: tuple[StoredReading, ...]
