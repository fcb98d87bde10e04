"""What a detect worker tells Prometheus about partition ownership (served on ``/metrics`` of
the process that runs the API: ``vigil serve``, or a ``vigil api`` beside the workers)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

PARTITIONS_OWNED = Gauge(
    "vigil_detect_partitions_owned", "Partitions this detect worker holds now", ["worker"]
)
PARTITIONS_LOST = Counter(
    "vigil_detect_partitions_lost_total",
    "Partitions taken from this worker (another holds the pin, or the database fence refused"
    " its commit); it stopped applying them",
    ["worker"],
)
FENCED = Counter(
    "vigil_detect_fenced_total",
    "Commits refused because another worker had moved the partition's progress",
    ["worker"],
)
PARTITION_LAG = Gauge(
    "vigil_stream_partition_lag",
    "Messages of the partition not yet acknowledged by its owner",
    ["partition"],
)
PARTITIONS_WITHOUT_OWNER = Gauge(
    "vigil_stream_partitions_without_owner",
    "Partitions with messages waiting and no worker holding them (alarm when above 0 for"
    " longer than the pin timeout)",
)
