"""No loss: a crash of ingest, a database outage, and ingest down during a burst.

Each test publishes with real paho clients at QoS 1 through the real broker, then counts rows
and prints attempted / stored / lost / duplicated.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import Harness
from tests.proxy import TcpProxy
from tests.waiting import wait_for

from vigil.ingest import DevicePublisher, Ingest

pytestmark = pytest.mark.slow

READINGS_PER_MESSAGE = 2  # spo2 and heart rate from one oximeter measurement
HELD = re.compile(r"(\d+) messages kept unacknowledged \((\d+) more received")
"""Ingest's database retry log: the batch it retries and what else it has received."""


class Burst:
    """Publishes ``readings`` readings from ``devices`` devices in a background thread."""

    def __init__(self, harness: Harness, *, readings: int, devices: int) -> None:
        self.harness = harness
        self.readings = readings
        self.fleet = [harness.patient_with_device() for _ in range(devices)]
        self.device_ids = [creds.device_id for _, creds in self.fleet]
        self.start_ts = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        self.published = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            pubs = [
                DevicePublisher(
                    "127.0.0.1", self.harness.broker.port, c.device_id, c.password, inflight=50
                )
                for _, c in self.fleet
            ]
            for p in pubs:
                p.connect()
            infos = []
            messages = self.readings // READINGS_PER_MESSAGE
            for i in range(messages):
                pub = pubs[i % len(pubs)]
                ts = (self.start_ts + timedelta(seconds=i)).isoformat()
                body = {
                    "readings": [
                        {"ts": ts, "metric": "spo2", "value": 90 + i % 9, "unit": "%"},
                        {"ts": ts, "metric": "heart_rate", "value": 60 + i % 30, "unit": "/min"},
                    ]
                }
                infos.append(pub.publish(json.dumps(body).encode()))
                self.published = (i + 1) * READINGS_PER_MESSAGE
            for info in infos:
                info.wait_for_publish(120)
            for p in pubs:
                p.close()
        except BaseException as exc:
            self.error = exc
        finally:
            self.done.set()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def stored(self) -> int:
        return self.harness.count(
            "SELECT count(*) FROM readings WHERE device_id = ANY(%s)", self.device_ids
        )

    def wait_stored(self, at_least: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.stored() < at_least and time.monotonic() < deadline:
            time.sleep(0.2)

    def report(self, name: str) -> tuple[int, int, int]:
        assert self.done.wait(120), "publisher did not finish"
        assert self.error is None, self.error
        rows = self.stored()
        distinct = self.harness.count(
            "SELECT count(DISTINCT (device_id, metric, time)) FROM readings"
            " WHERE device_id = ANY(%s)",
            self.device_ids,
        )
        lost = self.readings - distinct
        duplicated = rows - distinct
        # The issue asks each no-loss test to print its figures (shown with `pytest -s`/-rA).
        print(
            f"\n{name}: attempted={self.readings} stored={distinct} lost={lost} "
            f"duplicated={duplicated}"
        )
        return distinct, lost, duplicated


class IngestProcess:
    """`vigil ingest` as a separate OS process, so that it can be killed with SIGKILL."""

    ready = "subscribed to"
    """The log line that says it is receiving."""

    def __init__(self, harness: Harness, state_dir: str, database_url: str | None = None) -> None:
        settings = harness.settings()
        self.held = 0
        """Messages the process last said it holds unacknowledged (its database retry log)."""
        self.env = {
            **os.environ,
            "VIGIL_DATABASE_URL": database_url or harness.db_url,
            "VIGIL_MQTT_URL": settings.mqtt_url or "",
            "VIGIL_MQTT_CLIENT_ID": settings.mqtt_client_id,
            "VIGIL_MQTT_SHARED_GROUP": settings.mqtt_shared_group or "",
            "VIGIL_NATS_URL": settings.nats_url or "",
            "VIGIL_STREAM_NAME": settings.stream_name,
            "VIGIL_STATE_DIR": state_dir,
            "VIGIL_INGEST_RETRY_MAX_S": "1",
        }
        self.proc: subprocess.Popen[str] | None = None
        self.pump = threading.Thread()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "ingest"],
            env=self.env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        subscribed = threading.Event()
        proc = self.proc

        def pump() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if self.ready in line:
                    subscribed.set()
                elif held := HELD.search(line):
                    self.held = int(held.group(1)) + int(held.group(2))

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        assert subscribed.wait(60), f"ingest process never logged {self.ready!r}"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close()

    def _close(self) -> None:
        """Close its stderr once the pump has read it to the end: the ingest helper processes
        (VIGIL_INGEST_PROCESSES) share it and end with their parent a moment after it, so
        closing it under the pump's read would fail there."""
        if self.proc is not None and self.proc.stderr is not None:
            self.pump.join(60)
            assert not self.pump.is_alive(), "an ingest helper process outlived its parent"
            self.proc.stderr.close()

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self._close()


@pytest.fixture
def ingest_process(harness: Harness, tmp_path: object) -> Iterator[IngestProcess]:
    proc = IngestProcess(harness, str(tmp_path))
    yield proc
    proc.terminate()


def test_kill_9_mid_burst_loses_nothing(harness: Harness, ingest_process: IngestProcess) -> None:
    burst = Burst(harness, readings=20_000, devices=20)
    ingest_process.start()
    burst.start()
    burst.wait_stored(3_000, timeout=60)
    assert 0 < burst.stored() < burst.readings, "kill must land mid-burst"
    ingest_process.kill()
    killed_at = burst.stored()
    ingest_process.start()
    burst.done.wait(120)
    burst.wait_stored(burst.readings, timeout=120)
    stored, lost, duplicated = burst.report("kill -9 of ingest mid-burst")
    assert killed_at < burst.readings
    assert (stored, lost, duplicated) == (burst.readings, 0, 0)


def test_kill_9_with_thousands_unacknowledged_in_its_queues_loses_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    """Ingest takes everything the broker holds into its per-device queues, unacknowledged:
    killed then, the broker redelivers it all from the persistent session."""
    burst = Burst(harness, readings=10_000, devices=10)
    messages = burst.readings // READINGS_PER_MESSAGE
    proxy = TcpProxy.for_url(harness.db_url)
    ingest_process = IngestProcess(
        harness, str(tmp_path), database_url=proxy.url_for(harness.db_url)
    )
    try:
        _kill_with_a_full_inbox(burst, messages, ingest_process, proxy)
    finally:
        ingest_process.terminate()
        proxy.close()
    stored, lost, duplicated = burst.report("kill -9 with 5,000 messages unacknowledged")
    assert (stored, lost, duplicated) == (burst.readings, 0, 0)


def _kill_with_a_full_inbox(
    burst: Burst, messages: int, ingest_process: IngestProcess, proxy: TcpProxy
) -> None:
    ingest_process.start()
    proxy.cut()  # from now on it receives, cannot store, acknowledges nothing
    burst.start()
    assert burst.done.wait(120)
    assert burst.error is None
    wait_for(lambda: ingest_process.held >= messages, "every message held by ingest", 120)
    # Far more than the broker's own window (max_inflight_messages 1000) is in ingest's queues.
    assert ingest_process.held == messages
    ingest_process.kill()
    proxy.restore()
    assert burst.stored() == 0
    ingest_process.start()
    burst.wait_stored(burst.readings, timeout=120)


def test_database_unreachable_mid_burst_loses_nothing(harness: Harness) -> None:
    """The database goes away mid-burst (every connection cut, new ones refused, as a crash
    or a network cut would look; through a proxy, so the shared server stays up) and comes
    back once ingest has failed several retries: everything is stored once."""
    burst = Burst(harness, readings=20_000, devices=20)
    proxy = TcpProxy.for_url(harness.db_url)
    ingest = Ingest(
        harness.settings(ingest_retry_max_s=1.0),
        database_url=proxy.url_for(harness.db_url),
        mqtt=harness.ingest_target,
    )
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(10)
        burst.start()
        burst.wait_stored(3_000, timeout=60)
        proxy.cut()  # connections cut mid-transaction, perhaps mid-commit
        wait_for(lambda: ingest.service.stats.db_errors >= 3, "ingest retried while it was down")
        proxy.restore()
        burst.done.wait(120)
        burst.wait_stored(burst.readings, timeout=120)
    finally:
        ingest.stop()
        proxy.close()
    stored, lost, duplicated = burst.report("database unreachable mid-burst")
    assert (stored, lost, duplicated) == (burst.readings, 0, 0)


def test_ingest_down_during_burst_then_started_stores_all(
    harness: Harness, ingest_process: IngestProcess
) -> None:
    burst = Burst(harness, readings=5_000, devices=10)
    ingest_process.start()  # establishes the persistent session and its subscription
    ingest_process.terminate()
    burst.start()
    assert burst.done.wait(120)
    assert burst.stored() == 0
    ingest_process.start()
    burst.wait_stored(burst.readings, timeout=120)
    stored, lost, duplicated = burst.report("ingest down during the burst")
    assert (stored, lost, duplicated) == (burst.readings, 0, 0)
