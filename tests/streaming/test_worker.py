"""The detect worker against real NATS JetStream and TimescaleDB: applied once, whatever happens.

Each test has its own stream (a name of its own on the shared NATS server) and database.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from tests.conftest import Harness

from vigil.alerts import AlertPolicy, AlertService
from vigil.clinical.findings import Finding
from vigil.core.metrics import Metric
from vigil.core.models import StoredMessage, StoredReading
from vigil.stream import NatsConnection, StreamLayout, StreamPublisher, ensure_stream, message_key
from vigil.streaming import LiveEngine, metrics
from vigil.streaming.worker import DetectWorker


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not reached in time: {what}")


@pytest.fixture
def stream(harness: Harness) -> Iterator[NatsConnection]:
    layout = StreamLayout(name=f"t{uuid.uuid4().hex[:10]}", partitions=4)
    conn = NatsConnection(harness.nats.url, name="test", layout=layout).open()
    ensure_stream(conn, layout)
    yield conn
    conn.call(lambda: conn.js.delete_stream(layout.stream), timeout_s=10)
    conn.close()


class FlakySink:
    """The real alerts stage, failing its first ``failures`` applications (a database blip)."""

    def __init__(self, failures: int = 0) -> None:
        self.alerts = AlertService(AlertPolicy())
        self.failures = failures
        self.calls = 0

    def apply(
        self,
        conn: psycopg.Connection[Any],
        findings: Sequence[Finding],
        *,
        readings: Sequence[StoredReading] = (),
    ) -> object:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise psycopg.OperationalError("simulated: server closed the connection")
        return self.alerts.apply(conn, findings, readings=readings)


def worker(harness: Harness, stream: NatsConnection, sink: FlakySink | None = None) -> DetectWorker:
    return DetectWorker(
        nats=stream,
        database_url=harness.db_url,
        engine=lambda: LiveEngine(harness.db_url, restore_days=0),
        sink=sink or FlakySink(),
        name="detect-test",
        retry_max_s=0.2,
        pin_timeout_s=2,
    )


def oximetry(patient: uuid.UUID, device: str, values: Sequence[float]) -> list[StoredMessage]:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=len(values))
    out = []
    for i, v in enumerate(values):
        t = t0 + timedelta(hours=i)
        readings = (StoredReading(t, patient, Metric.SPO2, v, device, t),)
        out.append(StoredMessage(message_key(patient, device, readings), patient, device, readings))
    return out


def alerts_of(harness: Harness, patient: uuid.UUID) -> list[tuple[str, int]]:
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT cause, finding_count FROM alerts WHERE patient_id = %s ORDER BY cause",
            (patient,),
        ).fetchall()
    return [(str(c), int(n)) for c, n in rows]  # type: ignore[call-overload]


def progress(harness: Harness) -> int:
    return harness.count("SELECT coalesce(sum(last_seq), 0) FROM detect_progress")


def test_a_critical_reading_is_alerted_once_and_a_restart_doubles_nothing(
    harness: Harness, stream: NatsConnection
) -> None:
    patient, creds = harness.patient_with_device()
    messages = oximetry(patient, creds.device_id, [96, 95, 97, 80])
    published = StreamPublisher(stream).publish(messages)
    assert (published.messages, published.duplicates) == (4, 0)
    first = worker(harness, stream)
    first.start()
    try:
        wait_for(lambda: first.scored == 4, "4 readings scored")
        assert alerts_of(harness, patient) == [("spo2_low", 1)]
    finally:
        first.stop()
    # A new process over the same stream: handed the partition with the next reading, it
    # recognises everything before as applied and replays it silently into the detectors; the
    # next low reading updates the same alert.
    second = worker(harness, stream)
    second.start()
    try:
        StreamPublisher(stream).publish(oximetry(patient, creds.device_id, [79]))
        wait_for(lambda: second.scored == 1, "the new reading scored")
        assert second.replayed == 4
        assert alerts_of(harness, patient) == [("spo2_low", 2)]
    finally:
        second.stop()


def test_a_republished_message_is_dropped_by_the_stream(
    harness: Harness, stream: NatsConnection
) -> None:
    patient, creds = harness.patient_with_device()
    messages = oximetry(patient, creds.device_id, [80, 81])
    publisher = StreamPublisher(stream)
    publisher.publish(messages)
    again = publisher.publish(messages)  # a redelivered MQTT message, handed on again
    assert (again.messages, again.duplicates) == (2, 2)
    w = worker(harness, stream)
    w.start()
    try:
        wait_for(
            lambda: w.scored == 2 and all(s.lag == 0 for s in w.pinned.states()), "both scored"
        )
        assert alerts_of(harness, patient) == [("spo2_low", 2)]
    finally:
        w.stop()


def test_a_failed_apply_is_retried_not_dropped(harness: Harness, stream: NatsConnection) -> None:
    patient, creds = harness.patient_with_device()
    StreamPublisher(stream).publish(oximetry(patient, creds.device_id, [97, 82]))
    sink = FlakySink(failures=3)
    w = worker(harness, stream, sink)
    w.start()
    try:
        wait_for(lambda: w.scored == 2, "scored after the retries")
        assert w.apply_retries == 3
        assert alerts_of(harness, patient) == [("spo2_low", 1)]
        assert progress(harness) > 0
    finally:
        w.stop()


def test_each_patient_is_in_one_partition_and_workers_split_them(
    harness: Harness, stream: NatsConnection
) -> None:
    patients = [harness.patient_with_device() for _ in range(12)]
    publisher = StreamPublisher(stream)
    for patient, creds in patients:
        publisher.publish(oximetry(patient, creds.device_id, [97, 96, 81]))
    workers = [worker(harness, stream) for _ in (0, 1)]
    for w in workers:
        w.start()
    try:
        wait_for(lambda: sum(w.scored for w in workers) == 36, "every reading scored once")
        assert not workers[0].owned & workers[1].owned
        seen = [set(w.engine.engine.patients) for w in workers]  # type: ignore[attr-defined]
        assert not seen[0] & seen[1], "a patient was scored by two workers"
        assert seen[0] | seen[1] == {p for p, _ in patients}
        for patient, _ in patients:
            assert alerts_of(harness, patient) == [("spo2_low", 1)]
    finally:
        for w in workers:
            w.stop()


def test_the_watch_reports_each_partitions_lag_without_holding_the_loop(
    harness: Harness, stream: NatsConnection
) -> None:
    """The partitions' states are asked for in the background (the loop goes on taking
    messages) and reach the operator's gauges when the server answers."""
    patient, creds = harness.patient_with_device()
    StreamPublisher(stream).publish(oximetry(patient, creds.device_id, [80, 81, 82]))
    partitions = [str(p) for p in range(stream.layout.partitions)]
    for p in partitions:
        metrics.PARTITION_LAG.labels(p).set(-1)  # not reported yet
    w = DetectWorker(
        nats=stream,
        database_url=harness.db_url,
        engine=lambda: LiveEngine(harness.db_url, restore_days=0),
        sink=FlakySink(),
        name="detect-watch-test",
        retry_max_s=0.2,
        pin_timeout_s=2,
        watch_interval_s=0.2,
    )
    w.start()
    try:
        wait_for(lambda: w.scored == 3, "scored")
        wait_for(
            lambda: all(metrics.PARTITION_LAG.labels(p)._value.get() == 0 for p in partitions),
            "every partition's lag reported, 0 once all is acknowledged",
        )
        assert metrics.PARTITIONS_WITHOUT_OWNER._value.get() == 0
    finally:
        w.stop()
