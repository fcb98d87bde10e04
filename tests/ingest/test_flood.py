"""A flooding device beside a quiet one, real broker and database: every PUBACKed message ends
stored once or rejected with a reason (the flood's excess as rate limited), and the quiet
device's readings are all stored. Delay is a figure (`vigil bench flood`), not asserted."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime, timedelta

import psycopg
from tests.conftest import Harness

from vigil.ingest import DevicePublisher, InboundMessage, Ingest, MqttTransport, metrics
from vigil.ingest.inbox import FairInbox
from vigil.ingest.limits import KEPT_MESSAGES_SQL, DeviceRateLimiter, newest_time
from vigil.storage.admin import DeviceCredentials

FLOOD = 5_000
QUIET = 20


def _body(ts: datetime, value: int, n: int = 1) -> bytes:
    readings = [
        {
            "ts": (ts + timedelta(minutes=k)).isoformat(),
            "metric": "heart_rate",
            "value": value,
            "unit": "/min",
        }
        for k in range(n)
    ]
    return json.dumps({"readings": readings}).encode()


def _connected(
    harness: Harness, flooder: DeviceCredentials, quiet: DeviceCredentials
) -> tuple[DevicePublisher, DevicePublisher]:
    """The flooding device's publisher (a wide in-flight window) and the quiet one's, connected."""
    port = harness.broker.port
    flood = DevicePublisher("127.0.0.1", port, flooder.device_id, flooder.password, inflight=1000)
    calm = DevicePublisher("127.0.0.1", port, quiet.device_id, quiet.password)
    flood.connect()
    calm.connect()
    return flood, calm


def _rate_limited() -> float:
    return metrics.REJECTED.labels("rate_limited")._value.get()  # type: ignore[no-any-return]


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not met in time: {what}")
        time.sleep(0.1)


def test_a_flood_is_rate_limited_with_reasons_and_the_quiet_device_is_stored(
    harness: Harness,
) -> None:
    settings = harness.settings()
    assert settings.ingest_device_rate_per_s > 0, "the limit is on by default"
    _, flooder = harness.patient_with_device(kind="wearable")
    _, quiet = harness.patient_with_device(kind="wearable")
    limited_before = _rate_limited()
    ingest = Ingest(settings, database_url=harness.db_url, mqtt=harness.ingest_target)
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(15), "ingest never subscribed"
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        flood, calm = _connected(harness, flooder, quiet)
        # The flood's readings 10 ms apart on its own clock too: faster than any home device.
        infos = [
            flood.publish(_body(base + timedelta(milliseconds=10 * i), 60 + i % 50))
            for i in range(FLOOD)
        ]
        calm_infos = []
        for i in range(QUIET):
            calm_infos.append(calm.publish(_body(base + timedelta(days=1, minutes=i), 70)))
            time.sleep(0.05)
        for info in infos + calm_infos:
            info.wait_for_publish(120)
        pubacked = sum(i.is_published() for i in infos) - len(flood.refused)
        calm_pubacked = sum(i.is_published() for i in calm_infos) - len(calm.refused)
        flood.close()
        calm.close()

        def counts() -> tuple[int, int, int, int]:
            with psycopg.connect(harness.db_url) as conn:
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM readings WHERE device_id = %(f)s),"  # noqa: S608
                    f" (SELECT {KEPT_MESSAGES_SQL} FROM rejected_messages WHERE device_id = %(f)s),"
                    " (SELECT count(*) FROM readings WHERE device_id = %(q)s),"
                    f" (SELECT {KEPT_MESSAGES_SQL} FROM rejected_messages WHERE device_id = %(q)s)",
                    {"f": flooder.device_id, "q": quiet.device_id},
                ).fetchone()
            assert row is not None
            return int(row[0]), int(row[1]), int(row[2]), int(row[3])

        _wait(
            lambda: (c := counts())[0] + c[1] >= pubacked and c[2] >= calm_pubacked,
            180,
            "every PUBACKed message stored or rejected",
        )
        stored, rejected, quiet_stored, quiet_rejected = counts()
        with psycopg.connect(harness.db_url) as conn:
            reasons = [
                str(r)
                for (r,) in conn.execute(
                    "SELECT reason FROM rejected_messages WHERE device_id = %s",
                    (flooder.device_id,),
                ).fetchall()
            ]
            doubled = conn.execute(
                "SELECT count(*) - count(DISTINCT (device_id, metric, time)) FROM readings"
                " WHERE device_id = ANY(%s)",
                ([flooder.device_id, quiet.device_id],),
            ).fetchone()
    finally:
        ingest.stop()
    print(
        f"\nflood: attempted={FLOOD} pubacked={pubacked} stored={stored} rejected={rejected}"
        f" lost={pubacked - stored - rejected} doubled={doubled}; quiet: {QUIET} sent,"
        f" {quiet_stored} stored"
    )
    assert pubacked == FLOOD
    assert stored + rejected == pubacked, "0 lost, 0 silently dropped"
    assert doubled == (0,)
    assert stored >= settings.ingest_device_burst, "a burst is taken before the limit"
    assert rejected > FLOOD // 2, "the flood's excess is limited"
    assert reasons, "the excess is kept, in rows of a batch each"
    assert all(r.startswith("rate limited:") for r in reasons)
    kept = [re.search(r"(\d+) message\(s\) kept in this row", r) for r in reasons]
    assert sum(int(m.group(1)) for m in kept if m) == rejected
    assert _rate_limited() - limited_before == rejected, "the operator sees the count"
    assert ingest.service.stats.by_reason == {"rate_limited": rejected}
    assert (calm_pubacked, quiet_stored, quiet_rejected) == (QUIET, QUIET, 0)


def test_a_message_over_the_size_limits_is_kept_as_rejected(harness: Harness) -> None:
    settings = harness.settings(ingest_max_readings=5, ingest_max_message_bytes=4096)
    patient, creds = harness.patient_with_device(kind="wearable")
    ingest = Ingest(settings, database_url=harness.db_url, mqtt=harness.ingest_target)
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(15)
        pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
        pub.connect()
        t = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        for body in (_body(t, 70, n=6), _body(t, 70, n=5), _body(t, 70, n=1) + b" " * 5000):
            pub.publish(body).wait_for_publish(10)
        pub.close()
        _wait(lambda: ingest.service.stats.messages >= 3, 30, "three messages")
    finally:
        ingest.stop()
    with psycopg.connect(harness.db_url) as conn:
        reasons = sorted(
            str(r)
            for (r,) in conn.execute(
                "SELECT reason FROM rejected_messages WHERE device_id = %s", (creds.device_id,)
            ).fetchall()
        )
    assert reasons == [
        "batch of 6 readings exceeds 5",
        f"payload of {len(_body(t, 70, n=1)) + 5000} bytes exceeds the limit of 4096 bytes",
    ]
    assert harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", patient) == 5
    assert ingest.service.stats.by_reason == {"too_large": 2}


def test_the_limiter_spares_a_backlog_at_the_devices_pace_and_limits_a_flood() -> None:
    limiter = DeviceRateLimiter(rate_per_s=5, burst=10)
    now = datetime.now(UTC)
    # A wearable's hour offline, 1 reading/s, delivered in one instant: earned by its clock.
    backlog = [now - timedelta(hours=1) + timedelta(seconds=i) for i in range(3600)]
    assert all(limiter.admit("wearable", now, t) for t in backlog)
    # A flood 1 ms apart on its clock, all at once: the burst, then (almost) nothing.
    flood = [limiter.admit("flooder", now, now + timedelta(milliseconds=i)) for i in range(1000)]
    assert 10 <= sum(flood) <= 15
    assert sum(flood[20:]) <= 5, "its clock earns 5 a second of readings"
    # The arrival clock refills too: a second later, 5 more.
    later = now + timedelta(seconds=1)
    assert sum(limiter.admit("flooder", later, now) for _ in range(10)) == 5
    assert DeviceRateLimiter(rate_per_s=0, burst=1).admit("x", now, None), "0: no limit"


def test_processes_sharing_a_limit_admit_together_what_one_would() -> None:
    """Two ingest processes (shares=2), a flood's messages dealt between them as they pull:
    together they admit what one process with the whole limit admits, never more."""
    now = datetime.now(UTC)
    one = DeviceRateLimiter(rate_per_s=5, burst=10)
    pair = [DeviceRateLimiter(rate_per_s=5, burst=10, shares=2) for _ in range(2)]
    flood = [now + timedelta(milliseconds=i) for i in range(1000)]
    alone = sum(one.admit("flooder", now, t) for t in flood)
    shared = sum(pair[i % 2].admit("flooder", now, t) for i, t in enumerate(flood))
    print(f"flood of 1000: one process admits {alone}, two sharing the limit {shared}")
    assert 10 <= shared <= alone <= 15
    # An hour's backlog at the device's pace is still earned by its clock in each process.
    backlog = [now - timedelta(hours=1) + timedelta(seconds=i) for i in range(3600)]
    assert all(pair[i % 2].admit("wearable", now, t) for i, t in enumerate(backlog))
    reason = pair[0].reason("flooder")
    assert "1/2" in reason, "the share is named"
    assert "5 message(s)/s" in reason, "and the whole limit"


def test_newest_time_reads_the_latest_ts_and_ignores_what_it_cannot_read() -> None:
    body = _body(datetime(2026, 1, 1, tzinfo=UTC), 70, n=3)
    assert newest_time(body) == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    for junk in (b"not json", b"[]", b'{"readings": [{"ts": 5}, {"ts": "2026-01-01T00:00"}]}'):
        assert newest_time(junk) is None


def test_a_reading_queued_behind_5000_of_a_flood_is_stored_in_the_first_batch(
    harness: Harness,
) -> None:
    """Ingest takes far more than the broker's window (1000) off the broker, unacknowledged,
    and batches round-robin across devices: the quiet device does not wait for the flood."""
    settings = harness.settings(ingest_device_rate_per_s=0)  # fairness alone, no limit
    _, flooder = harness.patient_with_device(kind="wearable")
    _, quiet = harness.patient_with_device(kind="wearable")
    batches: list[set[str]] = []
    ingest = Ingest(
        settings,
        database_url=harness.db_url,
        mqtt=harness.ingest_target,
        sink=lambda stored: batches.append({m.device_id for m in stored}),
    )
    ingest.transport.start()  # receiving only: the service starts once all is queued
    try:
        assert ingest.transport.subscribed.wait(15), "ingest never subscribed"
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        flood, calm = _connected(harness, flooder, quiet)
        infos = [
            flood.publish(_body(base + timedelta(seconds=i), 60 + i % 50)) for i in range(FLOOD)
        ]
        for info in infos:
            info.wait_for_publish(120)
        calm.publish(_body(base + timedelta(days=1), 70)).wait_for_publish(30)
        flood.close()
        calm.close()
        _wait(lambda: len(ingest.inbox) == FLOOD + 1, 120, "all received, none acknowledged")
        ingest.service.start()
        _wait(
            lambda: (
                harness.count(
                    "SELECT count(*) FROM readings WHERE device_id = ANY(%s)",
                    [flooder.device_id, quiet.device_id],
                )
                == FLOOD + 1
            ),
            180,
            "all stored",
        )
    finally:
        ingest.stop()
    assert quiet.device_id in batches[0], "the quiet reading is in the first batch"
    assert len(batches) >= FLOOD // settings.ingest_batch_max, "the flood took its own batches"
    assert (
        harness.count(
            "SELECT count(*) - count(DISTINCT (metric, time)) FROM readings WHERE device_id = %s",
            flooder.device_id,
        )
        == 0
    )


def test_acks_out_of_order_settle_exactly_the_acknowledged_messages(harness: Harness) -> None:
    """Fair batches acknowledge out of arrival order; Mosquitto matches each PUBACK by its mid,
    so what was acknowledged is settled and what was not is redelivered."""
    devices = [harness.patient_with_device(kind="wearable")[1] for _ in range(2)]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)

    def connect() -> tuple[MqttTransport, FairInbox]:
        inbox = FairInbox()
        transport = MqttTransport(harness.ingest_target, client_id=harness.ingest_user, inbox=inbox)
        transport.start()
        assert transport.subscribed.wait(15), "never subscribed"
        return transport, inbox

    def key(m: InboundMessage) -> str:
        return str(json.loads(m.payload)["readings"][0]["ts"])

    transport, inbox = connect()
    pubs = [
        DevicePublisher("127.0.0.1", harness.broker.port, d.device_id, d.password, inflight=200)
        for d in devices
    ]
    for p in pubs:
        p.connect()
    infos = [pubs[i % 2].publish(_body(base + timedelta(seconds=i), 70)) for i in range(600)]
    for info in infos:
        info.wait_for_publish(60)
    _wait(lambda: len(inbox) == 600, 60, "all 600 received")
    received = inbox.take(600, wait_s=0, fill_s=0)
    order = list(range(600))
    random.Random(7).shuffle(order)
    kept = {key(received[i]) for i in order if i % 7 == 0}
    for i in order:
        if i % 7:
            assert transport.ack(received[i])
    transport.stop()
    # A new connection at once takes the session over before the broker has read the old
    # one's last acks (their messages then come again); wait until it has seen the DISCONNECT.
    log = harness.broker.root / "mosquitto.log"
    _wait(
        lambda: f"Client {harness.ingest_user} disconnected" in log.read_text(errors="replace"),
        30,
        "the broker closed the first connection",
    )

    # On the next connection the broker redelivers what is unacknowledged before anything new:
    # a marker published now arrives after every redelivery.
    transport, inbox = connect()
    pubs[0].publish(_body(base + timedelta(hours=2), 71)).wait_for_publish(30)
    marker = (base + timedelta(hours=2)).isoformat()
    _wait(
        lambda: marker in {key(m) for m in list(inbox._queues.get(pubs[0].topic, []))},
        60,
        "the marker",
    )
    again = inbox.take(1000, wait_s=0, fill_s=0)
    for m in again:
        transport.ack(m)
    transport.stop()
    for p in pubs:
        p.close()
    redelivered = {key(m) for m in again} - {marker}
    print(
        f"\nout-of-order acks: 600 received, {600 - len(kept)} acknowledged shuffled,"
        f" {len(kept)} not; redelivered {len(redelivered & kept)} of those,"
        f" {len(redelivered - kept)} acknowledged ones"
    )
    assert kept <= redelivered, "every unacknowledged message is redelivered"
    assert not redelivered - kept, "an acknowledged one is settled, whatever the order"
