"""The detect-and-alert stage: readings handed on by ingest become findings, then alerts.

One thread consumes batches of newly stored readings (already sorted by patient and time),
scores them with the detector engine and applies the findings to alerts in one transaction. A
clock drives time-based detectors (a patient who stopped measuring, a silent device) even when
no reading arrives. Errors are logged with context and counted; the loop keeps going.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import psycopg

from vigil.alerts import AlertService
from vigil.core.models import StoredReading
from vigil.streaming.findings import Finding

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
                    batch = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    continue
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
