"""Ingest's MQTT transport reads its socket in chunks (``BufferedClient``), overriding three of
paho's private methods: every message comes through whole and in order whether a chunk holds
many packets, part of one, or packets larger than the chunk, and nothing read before a
reconnect is parsed after it. Real broker, real device clients."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import Harness
from tests.waiting import wait_for

from vigil.ingest import DevicePublisher, InboundMessage, MqttTransport
from vigil.ingest.inbox import FairInbox
from vigil.ingest.transport import BufferedClient


def _body(ts: datetime, value: int, pad: int) -> bytes:
    reading = {"ts": ts.isoformat(), "metric": "heart_rate", "value": value, "unit": "/min"}
    return json.dumps({"readings": [reading], "note": "x" * pad}).encode()


def _connect(harness: Harness, chunk: int) -> tuple[MqttTransport, FairInbox]:
    inbox = FairInbox()
    transport = MqttTransport(harness.ingest_target, client_id=harness.ingest_user, inbox=inbox)
    assert isinstance(transport.client, BufferedClient)
    transport.client.chunk = chunk
    transport.start()
    assert transport.subscribed.wait(15), "never subscribed"
    return transport, inbox


def _drain(inbox: FairInbox) -> list[InboundMessage]:
    return inbox.take(100_000, wait_s=0, fill_s=0)


@pytest.mark.parametrize("chunk", [7, 65_536])
def test_every_message_arrives_whole_and_in_order(harness: Harness, chunk: int) -> None:
    """Sizes from a few bytes to 200 KB (three times the default chunk): with a 7-byte chunk
    every packet is split across reads, with 64 KiB most reads hold many packets."""
    _, device = harness.patient_with_device(kind="wearable")
    transport, inbox = _connect(harness, chunk)
    pub = DevicePublisher("127.0.0.1", harness.broker.port, device.device_id, device.password)
    pub.connect()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    pads = [0, 1, 126, 127, 128, 16_383, 16_384, 70_000, 200_000, *([10] * 300)]
    sent = [_body(base + timedelta(seconds=i), 60 + i % 40, pad) for i, pad in enumerate(pads)]
    for body in sent:
        pub.publish(body).wait_for_publish(30)
    wait_for(lambda: len(inbox) >= len(sent), timeout=60, what="every message received")
    got = _drain(inbox)
    for m in got:
        assert transport.ack(m)
    pub.close()
    transport.stop()
    print(f"chunk {chunk}: sent {len(sent)}, received {len(got)}")
    assert [m.payload for m in got] == sent  # whole, in order, none twice
    assert transport.callback_errors == 0


def test_a_reconnect_discards_what_the_old_connection_left_unread(harness: Harness) -> None:
    """Bytes buffered from a connection are never parsed as the next one's packets: after the
    socket is dropped mid-stream, paho reconnects, the broker redelivers what was not
    acknowledged, and every message is received whole (repeats allowed, none corrupt or lost)."""
    _, device = harness.patient_with_device(kind="wearable")
    transport, inbox = _connect(harness, 1000)
    pub = DevicePublisher("127.0.0.1", harness.broker.port, device.device_id, device.password)
    pub.connect()
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    sent = [_body(base + timedelta(seconds=i), 70, 300) for i in range(400)]
    for body in sent[:200]:
        pub.publish(body).wait_for_publish(30)
    wait_for(lambda: len(inbox) >= 1, timeout=30, what="the first messages")
    client = transport.client
    assert isinstance(client, BufferedClient)
    sock = client.socket()
    assert sock is not None
    sock.close()  # the connection breaks under paho; it reconnects on its own
    for body in sent[200:]:
        pub.publish(body).wait_for_publish(30)
    seen: dict[bytes, int] = {}

    def all_seen() -> bool:
        for m in _drain(inbox):
            seen[m.payload] = seen.get(m.payload, 0) + 1
            transport.ack(m)
        return len(seen) >= len(sent)

    wait_for(all_seen, timeout=90, what="every message after the reconnect")
    pub.close()
    transport.stop()
    repeats = sum(seen.values()) - len(seen)
    print(f"sent {len(sent)}, distinct received {len(seen)}, repeats {repeats}")
    assert set(seen) == set(sent)  # nothing corrupt (an unknown payload) and nothing missing
    assert transport.callback_errors == 0
