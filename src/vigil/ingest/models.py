"""What moves through ingest: inbound MQTT messages and the rows they become."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from vigil.core.errors import RejectionKind


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    mid: int
    qos: int
    retain: bool
    received_at: datetime
    generation: int
    """Connection generation: a mid is only meaningful on the connection that delivered it."""


@dataclass(frozen=True, slots=True)
class RejectedRow:
    received_at: datetime
    topic: str
    device_id: str | None
    payload: bytes
    item: int | None
    kind: RejectionKind
    reason: str
    messages: int = 1
    """How many MQTT messages this row keeps (a rate-limited device's batch is kept in one)."""

    @classmethod
    def whole(
        cls, message: InboundMessage, device_id: str | None, kind: RejectionKind, reason: str
    ) -> RejectedRow:
        """The whole of ``message`` kept as rejected, with its raw payload."""
        return cls(
            message.received_at, message.topic, device_id, message.payload, None, kind, reason
        )


@dataclass(slots=True)
class IngestStats:
    """Counters an operator (and Prometheus) reads."""

    messages: int = 0
    readings_stored: int = 0
    readings_duplicate: int = 0
    rejected: int = 0
    batches: int = 0
    db_errors: int = 0
    handoff_errors: int = 0
    handed_on: int = 0
    """Readings handed on to detection (new ones and repeats the stream may drop)."""
    internal_errors: int = 0
    staged_batches: int = 0
    """Batches the unique key refused straight (a reading of them was stored before): stored
    through the stage, which finds repeats and conflicts."""
    last_commit_lag_s: float = 0.0
    by_reason: dict[str, int] = field(default_factory=dict)
