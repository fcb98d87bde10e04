"""The stream publisher against a real NATS server: every message acknowledged, repeats
counted as duplicates, and a refusal raised (nothing is acknowledged to the edge then)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Harness
from vigil.core.metrics import Metric
from vigil.core.models import StoredMessage, StoredReading
from vigil.stream import (
    NatsConnection,
    StreamLayout,
    StreamPublisher,
    StreamUnavailable,
    ensure_stream,
    message_key,
)


@pytest.fixture
def connection(harness: Harness) -> Iterator[NatsConnection]:
    layout = StreamLayout(name=f"t{uuid.uuid4().hex[:10]}", partitions=4)
    conn = NatsConnection(harness.nats.url, name="test", layout=layout).open()
    yield conn
    conn.close()


def messages(count: int, readings: int) -> list[StoredMessage]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for m in range(count):
        patient = uuid.UUID(int=m + 1)
        rows = tuple(
            StoredReading(t0 + timedelta(seconds=i), patient, Metric.SPO2, 95.0, "ox-1", t0)
            for i in range(readings)
        )
        out.append(StoredMessage(message_key(patient, "ox-1", rows), patient, "ox-1", rows))
    return out


def test_every_message_is_acknowledged_and_a_repeat_is_a_duplicate(
    connection: NatsConnection,
) -> None:
    ensure_stream(connection, connection.layout)
    publisher = StreamPublisher(connection)
    batch = messages(300, 3)
    first = publisher.publish_started(batch).result(30)
    assert (first.messages, first.duplicates) == (300, 0)
    # 120 repeats and a new message (the first patient's first reading alone: another key).
    again = publisher.publish([*batch[:120], *messages(1, 1)])
    assert (again.messages, again.duplicates) == (121, 120)
    info = connection.call(
        lambda: connection.js.stream_info(connection.layout.stream), timeout_s=10
    )
    assert info.state.messages == 301


def test_a_message_no_stream_takes_is_refused(connection: NatsConnection) -> None:
    publisher = StreamPublisher(connection, ack_timeout_s=5)  # no stream made for the layout
    with pytest.raises(StreamUnavailable, match="refused"):
        publisher.publish(messages(3, 2))
