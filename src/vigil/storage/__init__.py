"""Storage: connections, migrations, and the SQL each stage shares."""

from vigil.storage.db import (
    READINGS_CHANNEL,
    LoopConnection,
    TimescaleFeatures,
    application_name,
    apply_retention,
    compact_readings,
    connect,
    create_pool,
    detect_timescale,
    migrate,
    notify_new_readings,
    reading_series_keys,
    rebuild_latest_readings,
)

__all__ = [
    "READINGS_CHANNEL",
    "LoopConnection",
    "TimescaleFeatures",
    "application_name",
    "apply_retention",
    "compact_readings",
    "connect",
    "create_pool",
    "detect_timescale",
    "migrate",
    "notify_new_readings",
    "reading_series_keys",
    "rebuild_latest_readings",
]
