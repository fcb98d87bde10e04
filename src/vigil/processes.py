"""The processes Vigil runs, composed from its stages.

- ``vigil ingest`` (N of them): MQTT -> TimescaleDB -> readings stream, stateless (an MQTT 5
  shared subscription spreads the devices' messages over them);
- ``vigil detect`` (as many as wanted, no ordinal): the partitions of the readings stream
  JetStream hands it -> findings -> alerts; each also runs the alert clock and webhook delivery
  (they share work through row locks);
- the API (K of them, stateless; alert changes reach every replica's SSE streams through
  PostgreSQL NOTIFY);
- ``vigil serve``: all of them in one process (one detect worker owning every partition).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg

from vigil.alerts import (
    AlertPolicy,
    AlertService,
    AlertWorker,
    DestinationPolicy,
    DispatchPolicy,
    WebhookDispatcher,
)
from vigil.core import faults
from vigil.ingest import Ingest
from vigil.servers.stack import ALL_SERVERS, MqttTarget, Servers, start_servers
from vigil.settings import Settings
from vigil.storage import migrate
from vigil.stream import NatsConnection, StreamPublisher, connect_stream
from vigil.streaming import LiveEngine
from vigil.streaming.worker import DetectWorker

log = logging.getLogger(__name__)

DETECT_SERVERS = frozenset({"database", "nats"})
"""A detect worker reads the stream and writes the database: it never starts a broker."""
API_SERVERS = frozenset({"database"})
"""The API reads and writes the database; device credentials reach an embedded broker, if one
runs from the same state folder, through its files (``sync_broker_credentials``)."""


def alert_service(settings: Settings) -> AlertService:
    return AlertService(
        AlertPolicy(
            escalate_after=timedelta(seconds=settings.alert_escalate_after_s),
            quiet_period=timedelta(seconds=settings.alert_quiet_period_s),
            seen_critical_hold=timedelta(seconds=settings.alert_seen_critical_hold_s),
        )
    )


def alert_worker(settings: Settings, alerts: AlertService, database_url: str) -> AlertWorker:
    return AlertWorker(
        database_url=database_url,
        tick=alerts.tick,
        dispatcher=WebhookDispatcher(
            policy=DispatchPolicy(max_attempts=settings.webhook_max_attempts),
            destinations=DestinationPolicy.from_settings(settings),
        ),
    )


def ingest_stage(
    settings: Settings, *, database_url: str, mqtt: MqttTarget, stream: NatsConnection
) -> Ingest:
    """Ingest that hands each committed batch to the readings stream before acknowledging."""
    return Ingest(
        settings,
        database_url=database_url,
        mqtt=mqtt,
        sink=StreamPublisher(stream).publish,
        nats_url=stream.url,  # the NATS edge's capture stream is on the same server
    )


def detect_worker(
    settings: Settings,
    *,
    database_url: str,
    stream: NatsConnection,
    alerts: AlertService,
    name: str,
) -> DetectWorker:
    return DetectWorker(
        nats=stream,
        database_url=database_url,
        engine=lambda: LiveEngine(database_url, restore_days=0),
        sink=alerts,
        name=name,
        restore_days=settings.detect_restore_days,
        fetch_max=settings.detect_batch_max,
        pin_timeout_s=settings.detect_pin_timeout_s,
    )


def detect_worker_name() -> str:
    """A name of its own for each detect process (logs, metrics, ``application_name``)."""
    return f"detect-{socket.gethostname()[:24]}-{os.getpid()}"


def _until_signalled() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


@contextmanager
def _one_stage(
    settings: Settings, name: str, needs: frozenset[str]
) -> Iterator[tuple[Servers, NatsConnection]]:
    """What a process running one stage needs: fault points armed (tests), the servers its
    stage uses (embedded unless configured, restarted should they die), the schema migrated,
    the readings stream connected."""
    faults.arm(settings.fault_point, skip=settings.fault_skip)
    servers = start_servers(settings, needs=needs)
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
        stream = connect_stream(settings, servers.nats_url, name=name)
        try:
            yield servers, stream
        finally:
            stream.close()
    finally:
        servers.close()


def run_ingest(settings: Settings) -> None:
    """`vigil ingest`: ingest alone (one of possibly several processes)."""
    with _one_stage(settings, "ingest", ALL_SERVERS) as (servers, stream):
        ingest = ingest_stage(
            settings, database_url=servers.database_url, mqtt=servers.mqtt, stream=stream
        )
        ingest.start()
        log.info("ingest running as %s", settings.mqtt_client_id)
        _until_signalled()
        ingest.stop()


def run_detect(settings: Settings) -> None:
    """`vigil detect`: one detect worker (the partitions JetStream hands it) plus the alert
    clock and webhooks."""
    if settings.detect_ordinal is not None or settings.detect_workers is not None:
        log.warning(
            "--ordinal/--workers (VIGIL_DETECT_ORDINAL/_WORKERS) are deprecated and ignored:"
            " JetStream hands each partition to one running worker; start or stop workers at will"
        )
    with _one_stage(settings, "detect", DETECT_SERVERS) as (servers, stream):
        alerts = alert_service(settings)
        worker = detect_worker(
            settings,
            database_url=servers.database_url,
            stream=stream,
            alerts=alerts,
            name=detect_worker_name(),
        )
        clock = alert_worker(settings, alerts, servers.database_url)
        worker.start()
        clock.start()
        log.info("%s running: partitions as JetStream hands them out", worker.name)
        _until_signalled()
        worker.stop()
        clock.stop()
