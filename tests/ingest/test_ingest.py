"""Ingest against the real broker and database: stored once, rejected with reasons, scoped."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from tests.conftest import Harness
from tests.waiting import wait_for

from vigil.core import StoredReading
from vigil.core.models import StoredMessage
from vigil.core.payload import MAX_PAYLOAD_BYTES
from vigil.ingest import DevicePublisher, Ingest

CORPUS = [
    case
    for line in (Path(__file__).parent / "malformed_corpus.jsonl").read_text().splitlines()
    if len(base64.b64decode((case := json.loads(line))["payload_b64"])) <= MAX_PAYLOAD_BYTES
]
"""The corpus the broker lets through (a larger payload is refused at the broker's edge:
test_device_edge.py); the parser meets all of it in tests/core/test_payload.py."""


class Collected:
    def __init__(self) -> None:
        self.messages: list[StoredMessage] = []
        self.lock = threading.Lock()

    def __call__(self, batch: Sequence[StoredMessage]) -> None:
        with self.lock:
            self.messages.extend(batch)

    @property
    def readings(self) -> list[StoredReading]:
        return [r for m in self.messages for r in m.readings]


@pytest.fixture
def running(harness: Harness) -> Iterator[tuple[Ingest, Collected]]:
    sink = Collected()
    settings = harness.settings()
    ingest = Ingest(settings, database_url=harness.db_url, mqtt=harness.ingest_target, sink=sink)
    ingest.start()
    assert ingest.transport.subscribed.wait(10), "ingest never subscribed"
    yield ingest, sink
    ingest.stop()


def publisher(harness: Harness, device_id: str, password: str) -> DevicePublisher:
    pub = DevicePublisher("127.0.0.1", harness.broker.port, device_id, password)
    pub.connect()
    return pub


def reading(ts: datetime, **kw: object) -> dict[str, object]:
    return {"ts": ts.isoformat(), **kw}


def test_reading_is_stored_in_canonical_units_and_handed_on(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, sink = running
    patient, creds = harness.patient_with_device(kind="bp_cuff")
    now = datetime.now(UTC).replace(microsecond=0)
    payload = {
        "readings": [
            reading(
                now, metric="blood_pressure", systolic=150, diastolic=95, pulse=71, unit="mm[Hg]"
            ),
            reading(now, metric="body_weight", value=176.4, unit="[lb_av]"),
        ]
    }
    pub = publisher(harness, creds.device_id, creds.password)
    pub.publish(json.dumps(payload).encode()).wait_for_publish(5)
    pub.publish(json.dumps(payload).encode()).wait_for_publish(5)  # a device repeating itself
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 2, "2 message(s) ingested")
    rows = harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", patient)
    assert rows == 4
    weight = harness.count(
        "SELECT round(value)::int FROM readings WHERE metric = 'body_weight' AND unit = 'kg'"
    )
    assert weight == 80
    # The repeat is handed on again under the same key (the stream drops it): a message
    # whose first hand-off was lost in a crash is not lost with it.
    first, repeat = sink.messages
    assert first.key == repeat.key
    assert first.readings == repeat.readings
    assert sorted(r.metric.value for r in first.readings) == [
        "body_weight",
        "bp_diastolic",
        "bp_systolic",
        "heart_rate",
    ]
    assert ingest.service.stats.readings_duplicate == 4


def test_a_pump_s_bolus_and_carbohydrate_are_stored_and_its_abuse_rejected(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, sink = running
    patient, creds = harness.patient_with_device(kind="insulin_pump", conditions=["t1d"])
    now = datetime.now(UTC).replace(microsecond=0)
    payload = {
        "readings": [
            reading(now, metric="insulin", value=4.25, unit="U"),
            reading(now, metric="carbs", value=45, unit="g"),
            reading(now - timedelta(minutes=1), metric="insulin", value=-2, unit="U"),
            reading(now - timedelta(minutes=2), metric="insulin", value="4", unit="U"),
            reading(now - timedelta(minutes=3), metric="carbs", value=900, unit="g"),
        ]
    }
    pub = publisher(harness, creds.device_id, creds.password)
    pub.publish(json.dumps(payload).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 1, "the pump's message ingested")
    with psycopg.connect(harness.db_url) as conn:
        stored = conn.execute(
            "SELECT metric, value, unit FROM readings WHERE patient_id = %s ORDER BY metric",
            (patient,),
        ).fetchall()
        reasons = [
            r[0]
            for r in conn.execute(
                "SELECT reason FROM rejected_messages WHERE device_id = %s ORDER BY id",
                (creds.device_id,),
            )
        ]
    assert stored == [("carbs", 45.0, "g"), ("insulin", 4.25, "[iU]")]
    assert sorted(r.metric.value for r in sink.readings) == ["carbs", "insulin"]
    assert len(reasons) == 3
    assert any("insulin -2 [iU] is outside" in r for r in reasons), reasons
    assert any("is a string, not a number" in r for r in reasons), reasons
    assert any("carbs 900 g is outside" in r for r in reasons), reasons


def test_malformed_corpus_is_rejected_and_interleaved_valid_readings_stored(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, _ = running
    patient, creds = harness.patient_with_device()
    pub = publisher(harness, creds.device_id, creds.password)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=len(CORPUS) + 60)
    infos = []
    for i, case in enumerate(CORPUS):
        good = {
            "readings": [reading(start + timedelta(minutes=i), metric="spo2", value=95, unit="%")]
        }
        infos.append(pub.publish(json.dumps(good).encode()))
        infos.append(pub.publish(base64.b64decode(case["payload_b64"])))
    for info in infos:
        info.wait_for_publish(10)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= len(infos), "every message ingested")
    assert harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", patient) == len(
        CORPUS
    )
    with __import__("psycopg").connect(harness.db_url) as conn:
        reasons = [r[0] for r in conn.execute("SELECT reason FROM rejected_messages ORDER BY id")]
    assert len(reasons) == len(CORPUS)
    for case in CORPUS:
        assert any(case["reason"] in r for r in reasons), case["name"]


def test_device_cannot_publish_as_another_device(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, _ = running
    victim, victim_creds = harness.patient_with_device()
    _, attacker = harness.patient_with_device()
    pub = publisher(harness, attacker.device_id, attacker.password)
    now = datetime.now(UTC)
    info = pub.publish(
        json.dumps({"readings": [reading(now, metric="spo2", value=80, unit="%")]}).encode(),
        topic=victim_creds.topic,
    )
    info.wait_for_publish(5)
    # The broker's refusal (its PUBACK's reason code) says the message went nowhere.
    wait_for(lambda: pub.refused, "the broker's refusal of the forged topic")
    pub.close()
    assert harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", victim) == 0
    assert ingest.service.stats.messages == 0
    assert any("authoriz" in r.lower() for r in pub.refused), pub.refused


def test_wrong_password_is_refused(harness: Harness) -> None:
    _, creds = harness.patient_with_device()
    pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, "not-the-password")
    with pytest.raises(ConnectionError):
        pub.connect(timeout=3)


def test_unassigned_reading_and_unknown_device_are_rejected(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, _ = running
    _, creds = harness.patient_with_device()
    pub = publisher(harness, creds.device_id, creds.password)
    before_assignment = datetime.now(UTC) - timedelta(days=250)
    bad_time = {
        "readings": [
            reading(before_assignment - timedelta(days=30), metric="spo2", value=95, unit="%")
        ]
    }
    pub.publish(json.dumps(bad_time).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 1, "1 message(s) ingested")
    with __import__("psycopg").connect(harness.db_url) as conn:
        row = conn.execute("SELECT device_id, reason FROM rejected_messages").fetchone()
    assert row is not None
    assert row[0] == creds.device_id
    assert "not assigned to a patient" in row[1]


def test_latest_readings_follow_the_newest_value_not_a_late_backlog(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, _ = running
    patient, creds = harness.patient_with_device()
    pub = publisher(harness, creds.device_id, creds.password)
    now = datetime.now(UTC).replace(microsecond=0)
    for ts, value in ((now, 93), (now - timedelta(hours=5), 88)):  # the backlog arrives last
        body = {"readings": [reading(ts, metric="spo2", value=value, unit="%")]}
        pub.publish(json.dumps(body).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 2, "2 message(s) ingested")
    latest = harness.count(
        "SELECT value::int FROM latest_readings WHERE patient_id = %s AND metric = 'spo2'",
        patient,
    )
    assert latest == 93


def test_a_conflicting_reading_is_kept_as_rejected_with_both_values(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, sink = running
    patient, creds = harness.patient_with_device()
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    pub = publisher(harness, creds.device_id, creds.password)
    first = {"readings": [reading(t, metric="spo2", value=97, unit="%")]}
    pub.publish(json.dumps(first).encode()).wait_for_publish(5)
    wait_for(lambda: ingest.service.stats.messages >= 1, "1 message(s) ingested")
    # The same device, metric and instant with another value, alone and beside a new reading.
    other = {
        "readings": [
            reading(t, metric="spo2", value=81, unit="%"),
            reading(t + timedelta(minutes=1), metric="spo2", value=96, unit="%"),
        ]
    }
    pub.publish(json.dumps(other).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 2, "2 message(s) ingested")
    assert harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", patient) == 2
    stored = harness.count(
        "SELECT value::int FROM readings WHERE patient_id = %s AND time = %s", patient, t
    )
    assert stored == 97, "the stored value is never silently replaced"
    with psycopg.connect(harness.db_url) as conn:
        [(reason,)] = conn.execute(
            "SELECT reason FROM rejected_messages WHERE device_id = %s", (creds.device_id,)
        ).fetchall()
    assert "conflicts with 1 stored reading" in str(reason)
    assert "stored 97 %" in str(reason)
    assert "this message 81 %" in str(reason)
    assert ingest.service.stats.by_reason.get("conflict") == 1
    # Only what agrees with storage goes on to detection.
    assert sorted(r.value for r in sink.readings) == [96.0, 97.0]
    latest = harness.count(
        "SELECT value::int FROM latest_readings WHERE patient_id = %s AND metric = 'spo2'",
        patient,
    )
    assert latest == 96


def test_cgm_low_and_high_are_stored_as_censored_readings(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    ingest, sink = running
    patient, creds = harness.patient_with_device(kind="cgm")
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "readings": [
            reading(now - timedelta(minutes=10), metric="glucose", value="LOW", unit="mg/dL"),
            reading(now - timedelta(minutes=5), metric="glucose", value=120, unit="mg/dl"),
            reading(now, metric="glucose", value="HIGH", unit="mmol/L"),
        ]
    }
    pub = publisher(harness, creds.device_id, creds.password)
    pub.publish(json.dumps(body).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 1, "1 message(s) ingested")
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT value, censored FROM readings WHERE patient_id = %s ORDER BY time", (patient,)
        ).fetchall()
        latest = conn.execute(
            "SELECT value, censored FROM latest_readings WHERE patient_id = %s", (patient,)
        ).fetchone()
    assert rows == [(40.0, "below"), (120.0, None), (400.0, "above")]
    assert latest == (400.0, "above")
    assert [(r.value, r.censored) for r in sink.readings] == rows
    assert ingest.service.stats.rejected == 0


def test_a_cgm_low_and_a_measured_40_conflict_and_a_repeated_low_is_a_duplicate(
    harness: Harness, running: tuple[Ingest, Collected]
) -> None:
    """LOW is stored as 40 censored below: a measured 40 at the same time is another reading
    (a conflict, kept with both), while the same LOW again is a repeat."""
    ingest, sink = running
    patient, creds = harness.patient_with_device(kind="cgm")
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    pub = publisher(harness, creds.device_id, creds.password)
    low = {"readings": [reading(t, metric="glucose", value="LOW", unit="mg/dL")]}
    measured = {"readings": [reading(t, metric="glucose", value=40, unit="mg/dL")]}
    for n, body in enumerate((low, measured, low), start=1):
        pub.publish(json.dumps(body).encode()).wait_for_publish(5)
        wait_for(lambda n=n: ingest.service.stats.messages >= n, f"message {n}")
    pub.close()
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT value, censored FROM readings WHERE patient_id = %s", (patient,)
        ).fetchall()
        reasons = conn.execute(
            "SELECT reason FROM rejected_messages WHERE device_id = %s", (creds.device_id,)
        ).fetchall()
    assert rows == [(40.0, "below")], "the stored LOW is kept, never replaced by a 40"
    [(reason,)] = reasons
    assert "stored 40 mg/dL censored below (LOW)" in str(reason)
    assert "this message 40 mg/dL)" in str(reason)
    assert ingest.service.stats.by_reason == {"conflict": 1}
    assert ingest.service.stats.readings_duplicate == 1
    # The LOW (twice: a repeat is handed on again, the stream drops it) and never the 40.
    assert {(r.value, r.censored) for r in sink.readings} == {(40.0, "below")}


def test_pipelined_hand_off_keeps_order_and_offers_a_failed_batch_again(
    harness: Harness,
) -> None:
    """With the pipelined hand-off (the next batch is committed while this one goes to the
    stream), a hand-off the stream did not take is offered again before anything after it,
    every message is handed on once, in the device's order, and acknowledged after that."""
    collected = Collected()
    pool = ThreadPoolExecutor(max_workers=1)  # one at a time, in call order, like the stream
    calls = {"started": 0}

    def started(batch: Sequence[StoredMessage]) -> Future[object]:
        calls["started"] += 1
        if calls["started"] == 1:
            failed: Future[object] = Future()
            failed.set_exception(RuntimeError("the stream did not answer"))
            return failed
        return pool.submit(collected, batch)

    settings = harness.settings().model_copy(update={"ingest_batch_max": 5})
    ingest = Ingest(
        settings,
        database_url=harness.db_url,
        mqtt=harness.ingest_target,
        sink=collected,
        sink_started=started,
    )
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(10), "ingest never subscribed"
        _, creds = harness.patient_with_device(kind="oximeter")
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        pub = publisher(harness, creds.device_id, creds.password)
        sent = 40
        for i in range(sent):
            at = base + timedelta(minutes=i)
            body = {"readings": [reading(at, metric="spo2", value=95, unit="%")]}
            pub.publish(json.dumps(body).encode()).wait_for_publish(5)
        pub.close()
        wait_for(lambda: len(collected.readings) >= sent, f"{sent} readings handed on")
        wait_for(lambda: ingest.service.stats.handed_on >= sent, f"{sent} acknowledged")
    finally:
        ingest.stop()
        pool.shutdown()
    times = [r.time for r in collected.readings]
    print(f"handed on {len(times)} of {sent}, hand-offs started {calls['started']}")
    assert len(times) == sent == len(set(times))  # each once
    assert times == sorted(times)  # the device's order, the failed batch's first
    assert calls["started"] >= 2
    assert ingest.service.stats.handoff_errors == 1
    assert ingest.service.stats.readings_stored == sent
