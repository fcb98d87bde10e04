"""Storage: connections, migrations, and the SQL each stage shares."""

from vigil.storage.db import (
    TimescaleFeatures,
    apply_retention,
    connect,
    create_pool,
    detect_timescale,
    migrate,
    rebuild_latest_readings,
)

__all__ = [
    "TimescaleFeatures",
    "apply_retention",
    "connect",
    "create_pool",
    "detect_timescale",
    "migrate",
    "rebuild_latest_readings",
]
