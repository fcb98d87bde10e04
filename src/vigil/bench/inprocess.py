"""The old in-process path, kept as the pipeline benchmark's baseline (no product code uses it).

Before the readings stream, ingest handed each committed batch to detection through an
in-memory queue in the same process: :class:`DetectStage`, one thread that scores the batches
with the detector engine and applies the findings to alerts in one transaction. It loses what
the queue holds when the process dies, which is why the product moved to the stream; it is the
throughput and latency the stream path is measured against.

``python -m vigil.bench.inprocess`` runs that path as one process: ingest (MQTT -> TimescaleDB)
-> queue -> DetectStage (``LiveEngine`` + ``AlertService``), configured like ``vigil ingest``
(``VIGIL_DATABASE_URL``, ``VIGIL_MQTT_URL``, ``VIGIL_MQTT_CLIENT_ID``, ...), until SIGTERM.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import psycopg

from vigil.alerts import AlertService
from vigil.clinical.findings import Finding
from vigil.core import logs
from vigil.core.models import StoredMessage, StoredReading

log = logging.getLogger(__name__)


class DetectorEngine(Protocol):
    def process(self, readings: Sequence[StoredReading]) -> list[Finding]: ...

    def tick(self, now: datetime) -> list[Finding]: ...


class DetectStage:
    def __init__(
        self,
        *,
        engine: DetectorEngine,
        alerts: AlertService,
        database_url: str,
        tick_interval_s: float = 60.0,
    ) -> None:
        self.engine = engine
        self.alerts = alerts
        self.database_url = database_url
        self.tick_interval_s = tick_interval_s
        self.inbox: queue.Queue[Sequence[StoredReading]] = queue.Queue()
        self.errors = 0
        self.findings = 0
        self.last_latency_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def submit(self, readings: Sequence[StoredReading]) -> None:
        """Ingest's hand-off (called after each commit)."""
        self.inbox.put(readings)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-detect", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()
        close = getattr(self.engine, "close", None)
        if close is not None:
            close()

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url)
        return self._conn

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.tick_interval_s
                    self._apply(self.engine.tick(datetime.now(UTC)), ())
                try:
                    batch = list(self.inbox.get(timeout=0.2))
                except queue.Empty:
                    continue
                # Everything queued behind it too, in one transaction: a fixed cost per
                # ingest batch fell behind at half load, when batches are small and many.
                while True:
                    try:
                        batch += self.inbox.get_nowait()
                    except queue.Empty:
                        break
                started = time.monotonic()
                self._apply(self.engine.process(batch), batch)
                self.last_latency_s = time.monotonic() - started
            except Exception:
                self.errors += 1
                log.exception("detect stage iteration failed; continuing")
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                self._stop.wait(0.5)

    def _apply(self, findings: list[Finding], readings: Sequence[StoredReading]) -> None:
        if not findings and not readings:
            return
        self.findings += len(findings)
        self.alerts.apply(self._connection(), findings, readings=readings)


READY = "in-process path running"
"""Logged once ingest is subscribed and detection is running (the bench waits for it)."""


def flatten_into(stage: DetectStage) -> Callable[[Sequence[StoredMessage]], int]:
    """Ingest's sink for the old path: a committed batch's readings, in one hand-off. It
    returns what it handed on (ingest takes a sink's None for "stopped": nothing acknowledged)."""

    def sink(messages: Sequence[StoredMessage]) -> int:
        readings = [r for m in messages for r in m.readings]
        stage.submit(readings)
        return len(readings)

    return sink


def main() -> None:
    from vigil.ingest import Ingest
    from vigil.processes import alert_service
    from vigil.servers.stack import MqttTarget
    from vigil.settings import Settings
    from vigil.streaming import LiveEngine

    logs.configure(logging.INFO)
    settings = Settings()
    if settings.database_url is None or settings.mqtt_url is None:
        raise SystemExit("VIGIL_DATABASE_URL and VIGIL_MQTT_URL are required")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stage = DetectStage(
        engine=LiveEngine(settings.database_url),
        alerts=alert_service(settings),
        database_url=settings.database_url,
    )
    ingest = Ingest(
        settings,
        database_url=settings.database_url,
        mqtt=MqttTarget.from_url(settings.mqtt_url),
        sink=flatten_into(stage),
    )
    stage.start()
    ingest.start()
    while not ingest.transport.subscribed.wait(0.2):
        if stop.is_set():
            break
    log.info("%s as %s", READY, settings.mqtt_client_id)
    stop.wait()
    ingest.stop()
    stage.stop()


if __name__ == "__main__":
    main()
