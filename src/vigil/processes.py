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

import ctypes
import functools
import logging
import os
import signal
import socket
import subprocess
import sys
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
from vigil.core.gc_tuning import tune_gc_for_serving
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
    publisher = StreamPublisher(stream)
    return Ingest(
        settings,
        database_url=database_url,
        mqtt=mqtt,
        sink=publisher.publish,
        sink_started=publisher.publish_started,
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


def _until_signalled(grace_s: float) -> None:
    """Wait for SIGTERM or SIGINT; then the caller stops its stage gracefully, and should a
    thread hang there (a server gone, a busy machine), the process still ends ``grace_s``
    later (``VIGIL_STOP_GRACE_S``): an ingest helper must end with its parent, and an
    operator's stop must stop. Exiting hard loses nothing: a stage acknowledges only what is
    durable."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass

    def exit_now() -> None:
        log.error("stopping took longer than %.0f s: exiting now", grace_s)
        logging.shutdown()
        os._exit(1)

    watchdog = threading.Timer(grace_s, exit_now)
    watchdog.daemon = True
    watchdog.start()


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


class IngestHelpers:
    """``count`` more `vigil ingest` processes beside this one's ingest (the NATS edge only:
    they pull from the one capture consumer, so each takes its share, and none loses what it
    took and did not acknowledge). One ingest process stays under one core (its threads take
    turns on the GIL); several get past it. Each child ends with its parent (Linux
    ``PR_SET_PDEATHSIG``), so a parent killed with SIGKILL leaves no ingest behind."""

    def __init__(self, settings: Settings, servers: Servers, count: int) -> None:
        self.count = count
        # A fault point (tests) is armed in the process under test, not in its helpers.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_FAULT_")}
        self.env = {
            **inherited,
            "VIGIL_DATABASE_URL": servers.database_url,
            "VIGIL_NATS_URL": servers.nats_url,
            "VIGIL_MQTT_EDGE": "nats",
            "VIGIL_MQTT_URL": f"mqtt://{servers.mqtt.host}:{servers.device_port}",
            "VIGIL_STATE_DIR": str(settings.state_dir),
            "VIGIL_INGEST_PROCESSES": "1",
            # Each of the count + 1 processes admits its share of a device's rate limit.
            "VIGIL_INGEST_RATE_SHARES": str(
                with_rate_shares(settings, count + 1).ingest_rate_shares
            ),
        }
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> IngestHelpers:
        for _ in range(self.count):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "vigil", "ingest", "--processes", "1"],
                    env=self.env,
                    preexec_fn=functools.partial(_end_with_parent, os.getpid()),
                )
            )
        if self.count:
            log.info("ingest: %d more ingest process(es) started", self.count)
        return self

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def _end_with_parent(parent: int) -> None:
    """In the child, before it runs: SIGTERM when the parent dies, and exit at once should it
    have died already (between the fork and here the signal would never come)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:
        os._exit(1)


def with_rate_shares(settings: Settings, processes: int) -> Settings:
    """The settings each of ``processes`` ingest processes runs with: each admits its share of
    a device's rate limit (``ingest_rate_shares``; unset, the ``processes`` run here)."""
    if settings.ingest_rate_shares:
        return settings
    return settings.model_copy(update={"ingest_rate_shares": processes})


def ingest_processes(settings: Settings, requested: int | None = None) -> int:
    """How many ingest processes to run: ``requested`` or the setting; one on Mosquitto (each
    instance there needs a broker user and shared group of its own: docs/ingest.md)."""
    wanted = requested if requested is not None else settings.ingest_processes
    if wanted > 1 and settings.edge != "nats":
        log.warning(
            "ingest: %d processes asked for, 1 started: on the Mosquitto edge each instance"
            " needs its own VIGIL_MQTT_CLIENT_ID and shared group (docs/ingest.md, Scaling out)",
            wanted,
        )
        return 1
    return max(1, wanted)


def run_ingest(settings: Settings, processes: int | None = None) -> None:
    """`vigil ingest`: ingest alone (one of possibly several processes); with ``processes``
    above one on the NATS edge, that many in all (this one and helpers)."""
    count = ingest_processes(settings, processes)
    settings = with_rate_shares(settings, count)
    with _one_stage(settings, "ingest", ALL_SERVERS) as (servers, stream):
        helpers = IngestHelpers(settings, servers, count - 1).start()
        ingest = ingest_stage(
            settings, database_url=servers.database_url, mqtt=servers.mqtt, stream=stream
        )
        ingest.start()
        tune_gc_for_serving()
        log.info("ingest running as %s", settings.mqtt_client_id)
        try:
            _until_signalled(settings.stop_grace_s)
        finally:
            faults.reached("stage_stop")
            ingest.stop()
            helpers.stop()


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
        tune_gc_for_serving()
        log.info("%s running: partitions as JetStream hands them out", worker.name)
        _until_signalled(settings.stop_grace_s)
        faults.reached("stage_stop")
        worker.stop()
        clock.stop()
