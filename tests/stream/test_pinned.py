"""A worker's catch-up from the stream itself (:meth:`PinnedPartitions.replay`) against real
NATS JetStream: it reads what the stream held when it started and ends, however steadily
readings keep arriving (they come through the partitions' own consumers)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Harness
from vigil.core.metrics import Metric
from vigil.core.models import StoredMessage, StoredReading
from vigil.stream import (
    NatsConnection,
    PinnedPartitions,
    StreamLayout,
    StreamPublisher,
    ensure_stream,
    message_key,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def stream(harness: Harness) -> Iterator[NatsConnection]:
    layout = StreamLayout(name=f"t{uuid.uuid4().hex[:10]}", partitions=4)
    conn = NatsConnection(harness.nats.url, name="test", layout=layout).open()
    ensure_stream(conn, layout)
    yield conn
    conn.call(lambda: conn.js.delete_stream(layout.stream), timeout_s=10)
    conn.close()


def message(patient: uuid.UUID, k: int) -> StoredMessage:
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=k)
    readings = (StoredReading(t, patient, Metric.SPO2, 95.0, "dev-1", t),)
    return StoredMessage(message_key(patient, "dev-1", readings), patient, "dev-1", readings)


@pytest.mark.timeout(120)
def test_a_catch_up_ends_while_readings_keep_arriving(
    harness: Harness, stream: NatsConnection
) -> None:
    patients = [uuid.uuid4() for _ in range(8)]
    publisher = StreamPublisher(stream)
    before = publisher.publish([message(p, k) for k in range(20) for p in patients])
    assert before.messages == 160
    stop, flowing, trickled = threading.Event(), threading.Event(), [0]

    def trickle() -> None:  # a steady stream of new readings, as a live system has
        k = 1000
        while not stop.wait(0.02):
            publisher.publish([message(patients[k % len(patients)], k)])
            trickled[0] += 1
            if trickled[0] >= 3:
                flowing.set()
            k += 1

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    # the catch-up starts once new readings are flowing (on a busy machine the thread may not
    # have published one before a quick catch-up ended)
    assert flowing.wait(60), "the trickle never got going"
    try:
        pinned = PinnedPartitions(stream)
        seen = [m for batch in pinned.replay(range(4), since=None, batch=50) for m in batch]
    finally:
        stop.set()
        thread.join(10)
    assert trickled[0] > 0  # readings were arriving throughout the catch-up
    # Everything the stream held at the start, once each, in stream order.
    seqs = [m.seq for m in seen]
    assert seqs == sorted(set(seqs))
    assert seqs[:160] == list(range(1, 161))
