"""`vigil serve`: every stage in one process, on embedded or configured servers."""

from __future__ import annotations

import logging
import signal
import threading

import psycopg

from vigil.ingest import Ingest
from vigil.servers import start_servers
from vigil.settings import Settings
from vigil.storage import apply_retention, detect_timescale, migrate

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    servers = start_servers(settings)
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
            features = detect_timescale(conn)
            log.info(
                "TimescaleDB %s, license %s%s",
                features.version,
                features.license,
                "" if features.community else ": retention runs from Vigil (drop_chunks)",
            )
            if settings.retention_days is not None:
                apply_retention(conn, days=settings.retention_days)
                conn.commit()
        ingest = Ingest(settings, database_url=servers.database_url, mqtt=servers.mqtt)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        ingest.start()
        log.info(
            "vigil serving: broker %s:%d, database ready", servers.mqtt.host, servers.mqtt.port
        )
        while not stop.wait(1.0):
            pass
        log.info("stopping")
        ingest.stop()
    finally:
        servers.close()
