"""`vigil serve`: every stage in one process, on embedded or configured servers.

ingest (MQTT -> TimescaleDB -> readings stream) -> detect (the stream's partitions, streaming
detectors) -> alerts (lifecycle, outbox) -> api (FastAPI + dashboard, served by uvicorn in the
main thread). The same hand-off through NATS JetStream as when the stages run as separate
processes, so a crash of this one process loses no alert either.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import uvicorn

from vigil.alerts import AlertService, AlertWorker
from vigil.api import create_app
from vigil.api.serving import api_scheme, uvicorn_options
from vigil.core import faults
from vigil.core.gc_tuning import tune_gc_for_serving
from vigil.core.worker import Worker
from vigil.ingest import Ingest
from vigil.processes import (
    API_SERVERS,
    IngestHelpers,
    alert_service,
    alert_worker,
    detect_worker,
    ingest_processes,
    ingest_stage,
    with_rate_shares,
)
from vigil.servers import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import (
    apply_retention,
    compact_readings,
    create_pool,
    detect_timescale,
    migrate,
)
from vigil.stream import NatsConnection, StreamPublisher, connect_stream
from vigil.streaming.worker import DetectWorker

log = logging.getLogger(__name__)


def prepare_database(settings: Settings, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
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


class RetentionLoop(Worker):
    """Readings' upkeep every few hours: drop chunks past ``VIGIL_RETENTION_DAYS`` when it is
    set (``drop_chunks`` works under every TimescaleDB license; the community edition's policies
    are not needed), and rebuild the index of chunks that have closed (``compact_readings``:
    about two thirds of its bytes while written). The first run is ``every_s`` after start:
    start-up has just applied retention."""

    def __init__(self, database_url: str, days: int | None, every_s: float = 6 * 3600) -> None:
        super().__init__("retention")
        self.database_url, self.days, self.every_s = database_url, days, every_s

    def step(self) -> None:
        if self.wait(self.every_s):
            return
        if self.days is not None:
            with psycopg.connect(self.database_url) as conn:
                dropped = apply_retention(conn, days=self.days)
            log.info("retention: dropped %d chunks older than %d days", dropped, self.days)
        compacted = compact_readings(self.database_url)
        log.info("readings: rebuilt the index of %d closed chunks", len(compacted))


@dataclass
class Running:
    """Every stage of a running Vigil, for `serve`, `demo` and end-to-end tests."""

    settings: Settings
    servers: Servers
    ingest: Ingest
    detect: DetectWorker
    worker: AlertWorker
    app: Any

    @property
    def url(self) -> str:
        return f"{api_scheme(self.settings)}://{self.settings.api_host}:{self.settings.api_port}"


def api_app(
    settings: Settings,
    servers: Servers,
    alerts: AlertService,
    stream: NatsConnection | None = None,
) -> Any:
    """The API and dashboard (pool created closed: the app's lifespan opens it). With
    ``stream``, the Nightscout API hands its stored readings on to detection."""
    root = servers.broker_root
    pool = create_pool(
        servers.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        timeout_s=settings.api_db_timeout_s,
    )
    return create_app(
        settings,
        pool,
        alert_service=alerts,
        sync_broker=(lambda conn: sync_broker_credentials(conn, root)) if root else None,
        readings_sink=StreamPublisher(stream).publish if stream is not None else None,
    )


def run_http(settings: Settings, app: Any) -> None:
    tune_gc_for_serving()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        timeout_graceful_shutdown=5,
        **uvicorn_options(settings),  # no server banner; TLS when a certificate is set
    )


def serve_api(settings: Settings) -> None:
    """`vigil api`: the API and dashboard alone, one of K stateless replicas (alert changes
    reach each replica's SSE streams through PostgreSQL NOTIFY)."""
    exit_on_sigterm()
    servers = start_servers(settings, needs=API_SERVERS)
    try:
        prepare_database(settings, servers.database_url)
        log.info("Vigil API on http://%s:%d", settings.api_host, settings.api_port)
        stream = connect_stream(settings, servers.nats_url, name="api")
        try:
            run_http(settings, api_app(settings, servers, alert_service(settings), stream))
        finally:
            stream.close()
    finally:
        servers.close()


@contextmanager
def running_stages(settings: Settings) -> Iterator[Running]:
    """Start servers (embedded unless configured) and every stage but the HTTP server."""
    faults.arm(settings.fault_point, skip=settings.fault_skip)
    servers = start_servers(settings)
    try:
        prepare_database(settings, servers.database_url)
        stream = connect_stream(settings, servers.nats_url, name="serve")
        alerts = alert_service(settings)
        detect = detect_worker(
            settings,
            database_url=servers.database_url,
            stream=stream,
            alerts=alerts,
            name="detect",
        )
        ingest = ingest_stage(
            settings, database_url=servers.database_url, mqtt=servers.mqtt, stream=stream
        )
        worker = alert_worker(settings, alerts, servers.database_url)
        app = api_app(settings, servers, alerts, stream)
        retention = RetentionLoop(servers.database_url, settings.retention_days)
        detect.start()
        worker.start()
        ingest.start()
        retention.start()
        try:
            yield Running(settings, servers, ingest, detect, worker, app)
        finally:
            ingest.stop()
            detect.stop()
            worker.stop()
            retention.stop()
            stream.close()
    finally:
        servers.close()


def exit_on_sigterm() -> None:
    """uvicorn re-raises SIGTERM/SIGINT to the previous handler after its graceful shutdown;
    the default SIGTERM handler would end the process before the embedded servers are stopped,
    so make SIGTERM unwind like Ctrl-C does."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)


def serve(settings: Settings) -> None:
    """`vigil serve`: every stage, with ``VIGIL_INGEST_PROCESSES`` ingest processes in all on
    the NATS edge (this one's and helpers pulling from the same capture consumer)."""
    exit_on_sigterm()
    count = ingest_processes(settings)
    settings = with_rate_shares(settings, count)
    with running_stages(settings) as running:
        helpers = IngestHelpers(settings, running.servers, count - 1).start()
        try:
            log.info("Vigil is serving on %s (dashboard at %s/)", running.url, running.url)
            run_http(settings, running.app)
        finally:
            helpers.stop()
