"""A worker's catch-up from the stream itself (:meth:`PinnedPartitions.replay`) against real
NATS JetStream: it reads what the stream held when it started and ends, however steadily
readings keep arriving (they come through the partitions' own consumers)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Harness
from tests.waiting import wait_for
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


@pytest.mark.timeout(120)
def test_a_partition_re_pinned_to_the_same_worker_is_lost_and_taken_again(
    harness: Harness, stream: NatsConnection
) -> None:
    """When the server pins a partition to the same client under a new id (a new consumer
    leader after a node is killed does; an unpin does here), the client's messages of it taken
    before were dropped: the take says the partition was lost as well as gained, so the worker
    catches up on it from the stream again instead of going on past what it dropped (which
    then came back as redeliveries it took for already handled: findings never applied)."""
    patients = [uuid.uuid4() for _ in range(8)]
    publisher = StreamPublisher(stream)
    assert publisher.publish([message(p, k) for k in range(5) for p in patients]).messages == 40
    pinned = PinnedPartitions(stream, pin_timeout_s=2.0)
    pinned.ensure()
    pinned.start()
    try:
        wait_for(
            lambda: len([m for _, _, m in list(pinned._queue.queue) if m is not None]) >= 40,
            "every message in the client's queue",
        )
        first = dict(pinned._pins)
        queued = [m for kind, _, m in list(pinned._queue.queue) if m is not None]
        victim = queued[0].partition
        others = {m.seq for m in queued if m.partition != victim}

        async def unpin() -> None:
            subject = f"$JS.API.CONSUMER.UNPIN.{stream.layout.stream}.detect-p{victim}"
            reply = await stream.client.request(
                subject, json.dumps({"group": "detect"}).encode(), 5
            )
            assert "error" not in json.loads(reply.data), reply.data

        stream.call(unpin, timeout_s=10)
        wait_for(
            lambda: pinned._pins.get(victim) not in (None, first[victim]),
            "the partition pinned again, under a new id",
        )
        pulled = pinned.take(max_messages=1000, timeout_s=1.0)
    finally:
        pinned.stop()
    assert victim in pulled.lost
    assert victim in pulled.gained
    # the other partitions' messages are all there (the victim's taken before the re-pin are
    # dropped: the worker's catch-up reads them from the stream)
    assert {m.seq for m in pulled.messages if m.partition != victim} >= others
