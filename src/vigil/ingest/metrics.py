"""Prometheus metrics of the ingest stage (exposed by the API's /metrics endpoint)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("vigil_ingest_messages_total", "MQTT messages processed (committed)")
READINGS_STORED = Counter("vigil_ingest_readings_stored_total", "Readings newly stored")
READINGS_DUPLICATE = Counter(
    "vigil_ingest_readings_duplicate_total", "Readings already stored (replays, repeats)"
)
REJECTED = Counter("vigil_ingest_rejected_total", "Rejected messages or readings", ["kind"])
DB_ERRORS = Counter("vigil_ingest_db_errors_total", "Batches retried: database unreachable")
COMMIT_LAG = Histogram(
    "vigil_ingest_commit_lag_seconds",
    "From a message's arrival at Vigil to the commit of its batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


HANDOFF_ERRORS = Counter(
    "vigil_ingest_handoff_errors_total", "Batches retried: the readings stream did not take them"
)

INBOX_MESSAGES = Gauge(
    "vigil_ingest_inbox_messages",
    "Messages received from the broker, not yet stored nor acknowledged (after each batch)",
)
INBOX_FULL = Counter(
    "vigil_ingest_inbox_full_total",
    "Times receiving paused because ingest's inbox reached its cap (the broker held the rest)",
)
BATCH_SIZE = Gauge(
    "vigil_ingest_batch_size", "Messages the next batch may take (sized to the batch target)"
)
