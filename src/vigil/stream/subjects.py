"""The readings stream's names and layout: subjects, partitions and the stream's configuration.

Ingest publishes each patient's readings to ``<name>.readings.in.<patient id>``. The stream
stores them under ``<name>.readings.p.<partition>.<patient id>``: JetStream's own deterministic
subject transform (``partition(N, 1)``, a hash of the patient id) picks the partition, so one
patient's readings always land in one partition, in publish order, whichever ingest instance
published them. A detect worker consumes whole partitions. ``name`` (``VIGIL_STREAM_NAME``)
lets several deployments share one NATS cluster.

>>> layout = StreamLayout(partitions=8)
>>> layout.stream
'VIGIL_READINGS'
>>> layout.inbound_subject(UUID("00000000-0000-0000-0000-000000000001"))
'vigil.readings.in.00000000-0000-0000-0000-000000000001'
>>> layout.partition_filter(3)
'vigil.readings.p.3.*'
>>> partition_of("vigil.readings.p.3.00000000-0000-0000-0000-000000000001")
3
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def partition_of(subject: str) -> int:
    """The partition a stored message's subject names."""
    return int(subject.split(".")[-2])


def patient_of(subject: str) -> UUID:
    return UUID(subject.split(".")[-1])


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """How the readings stream is laid out; fixed for the life of a deployment's stream
    (changing ``partitions`` would move patients between partitions)."""

    name: str = "vigil"
    partitions: int = 16
    replicas: int = 1
    max_age_s: float = 15 * 24 * 3600
    """How long the stream keeps readings: a restarting detect worker replays its partitions'
    last ``restore_days`` from here."""
    duplicate_window_s: float = 24 * 3600
    """A re-publish of the same readings within this window is dropped by the stream; it
    covers a redelivered MQTT backlog after an ingest outage of up to this long."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"stream name {self.name!r} must match {_NAME.pattern}")

    @property
    def stream(self) -> str:
        return f"{self.name.upper().replace('-', '_')}_READINGS"

    @property
    def inbound(self) -> str:
        return f"{self.name}.readings.in"

    @property
    def stored(self) -> str:
        return f"{self.name}.readings.p"

    def inbound_subject(self, patient_id: UUID) -> str:
        return f"{self.inbound}.{patient_id}"

    def partition_filter(self, partition: int) -> str:
        return f"{self.stored}.{partition}.*"

    @property
    def transform_destination(self) -> str:
        return f"{self.stored}.{{{{partition({self.partitions},1)}}}}.{{{{wildcard(1)}}}}"
