"""The demo's Bluetooth cuff: a bumble-simulated cuff holding two weeks of morning and evening
measurements, for ``vigil gateway run``'s loop in a thread (:class:`GatewayThread`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from vigil.gateway.config import GatewayConfig, time_zone

DEMO_TIMEZONE = "Asia/Seoul"
DEMO_CUFF_ADDRESS = "F1:DE:00:00:00:01"
MORNING_HOUR = 7
EVERY_MIN = 12 * 60
"""A measurement at 07:00 and 19:00 on the cuff's clock."""


def demo_config(
    *, host: str, port: int, device_id: str, password: str, state_dir: Path, days: int
) -> GatewayConfig:
    """The gateway's config for a cuff holding ``days`` days of measurements (up to today)."""
    now = datetime.now(time_zone(DEMO_TIMEZONE))
    start = now.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0, tzinfo=None)
    cuff = {
        "address": DEMO_CUFF_ADDRESS,
        "name": "Vigil demo cuff",
        "kind": "blood_pressure",
        "device_id": device_id,
        "password": password,
        "simulate": {
            "records": days * 2,
            "start": (start - timedelta(days=days)).isoformat(),
            "every_min": EVERY_MIN,
            "interval_ms": 50,
        },
    }
    return GatewayConfig.model_validate(
        {
            "mqtt_url": f"mqtt://{host}:{port}",
            "queue_path": str(state_dir / "gateway-queue.sqlite3"),
            "timezone": DEMO_TIMEZONE,
            "transport": "simulated",
            "devices": [cuff],
        }
    )
