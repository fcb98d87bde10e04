"""The usual batch goes straight into the readings' hypertable; one with a reading stored before
is refused by the unique key, rolled back and stored through the stage. Counted both ways:
attempted, stored, duplicate, conflicting, lost, doubled, and what goes on to detection.

These drive :class:`IngestService` with messages as the transport hands them over (no broker:
the batches are exactly the ones written here), against the real database."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from tests.conftest import Harness

from vigil.core.payload import topic_for
from vigil.ingest import FairInbox, InboundMessage, IngestService
from vigil.storage import admin

_mids = itertools.count(1)


def message(device_id: str, readings: list[dict[str, object]], at: datetime) -> InboundMessage:
    body = json.dumps({"readings": readings}).encode()
    return InboundMessage(topic_for(device_id), body, next(_mids), 1, False, at, 0)


def spo2(ts: datetime, value: float) -> dict[str, object]:
    return {"ts": ts.isoformat(), "metric": "spo2", "value": value, "unit": "%"}


def pulse(ts: datetime, value: float) -> dict[str, object]:
    return {"ts": ts.isoformat(), "metric": "heart_rate", "value": value, "unit": "/min"}


@pytest.fixture
def service(harness: Harness) -> Iterator[IngestService]:
    running = IngestService(
        settings=harness.settings(),
        database_url=harness.db_url,
        inbox=FairInbox(max_messages=10, max_bytes=1 << 20),
        ack=lambda _message: None,
    )
    yield running
    running.close()


def stored_rows(harness: Harness, device_id: str) -> tuple[int, int]:
    """Rows and distinct (metric, time) keys stored from ``device_id``."""
    with psycopg.connect(harness.db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (metric, time)) FROM readings WHERE device_id = %s",
            (device_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])  # type: ignore[call-overload,unused-ignore]


def test_a_batch_with_a_repeat_is_stored_through_the_stage_and_loses_nothing(
    harness: Harness, service: IngestService
) -> None:
    patient, creds = harness.patient_with_device()
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(hours=1)
    first = message(
        creds.device_id, [spo2(t0 + timedelta(minutes=i), 90 + i) for i in range(5)], now
    )
    handed = service.process([first])
    assert service.stats.staged_batches == 0, "a batch of new readings goes straight in"
    assert service.stats.readings_stored == 5
    assert sum(len(m.readings) for m in handed) == 5

    # A new message, the first one again (a redelivery) and a conflicting value, in one batch.
    new = message(
        creds.device_id,
        [spo2(t0 + timedelta(minutes=10 + i), 95) for i in range(3)] + [pulse(t0, 70)],
        now,
    )
    conflict = message(creds.device_id, [spo2(t0, 81)], now)
    handed = service.process([new, first, conflict])
    attempted = 5 + 4 + 5 + 1
    rows, distinct = stored_rows(harness, creds.device_id)
    assert service.stats.staged_batches == 1, "the unique key refused it: through the stage"
    assert (rows, distinct) == (9, 9), "0 doubled"
    assert service.stats.readings_stored == 9, "0 lost: every new reading stored once"
    assert service.stats.readings_duplicate == 5
    assert service.stats.by_reason.get("conflict") == 1
    assert attempted == rows + service.stats.readings_duplicate + 1
    with psycopg.connect(harness.db_url) as conn:
        [(reason,)] = conn.execute(
            "SELECT reason FROM rejected_messages WHERE device_id = %s", (creds.device_id,)
        ).fetchall()
        latest = conn.execute(
            "SELECT metric, value FROM latest_readings WHERE patient_id = %s ORDER BY 1",
            (patient,),
        ).fetchall()
    assert "stored 90 %" in str(reason)
    assert "this message 81 %" in str(reason)
    # The repeats go on to detection again (the stream drops them by key), the 81 never.
    values = sorted(r.value for m in handed for r in m.readings if r.metric.value == "spo2")
    assert values == [90, 91, 92, 93, 94, 95, 95, 95]
    assert latest == [("heart_rate", 70.0), ("spo2", 95.0)]

    # The heart-rate series was made through the stage: the next batch goes straight in again.
    later = message(creds.device_id, [pulse(t0 + timedelta(minutes=20), 72)], now)
    service.process([later])
    assert service.stats.staged_batches == 1
    assert stored_rows(harness, creds.device_id) == (10, 10)


def test_a_repeat_alone_and_a_series_made_in_a_rolled_back_batch(
    harness: Harness, service: IngestService
) -> None:
    """A batch that is all repeats stores nothing and hands its readings on; a series first
    met in a batch that the unique key refused is made again through the stage, not taken
    from a rolled-back transaction."""
    _, creds = harness.patient_with_device()
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(hours=2)
    once = message(creds.device_id, [spo2(t0, 97)], now)
    service.process([once])
    beat = message(creds.device_id, [pulse(t0, 64)], now)
    handed = service.process([once, beat])
    assert service.stats.staged_batches == 1
    assert [r.value for m in handed for r in m.readings] == [97.0, 64.0]
    assert stored_rows(harness, creds.device_id) == (2, 2)
    assert service.stats.readings_stored == 2
    assert service.stats.readings_duplicate == 1
    # Straight in again with the key the stage made (a key from the rolled-back batch would
    # name no series: the reading would be missing from the readings view).
    service.process([message(creds.device_id, [pulse(t0 + timedelta(minutes=1), 66)], now)])
    assert service.stats.staged_batches == 1
    assert stored_rows(harness, creds.device_id) == (3, 3)
    assert harness.count("SELECT count(*) FROM reading_rows") == 3


def test_a_device_revoked_mid_stream_is_refused_from_then_on(
    harness: Harness, service: IngestService
) -> None:
    _, creds = harness.patient_with_device()
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    before = datetime.now(UTC)
    service.process([message(creds.device_id, [spo2(t0, 96)], before)])
    with psycopg.connect(harness.db_url) as conn:
        admin.revoke_device(conn, device_id=creds.device_id)
    after = datetime.now(UTC) + timedelta(seconds=1)
    # Received before the revocation (still queued): stored. After it: refused with the reason.
    handed = service.process(
        [
            message(creds.device_id, [spo2(t0 + timedelta(minutes=1), 95)], before),
            message(creds.device_id, [spo2(t0 + timedelta(minutes=2), 94)], after),
            message(creds.device_id, [spo2(t0 + timedelta(minutes=3), 93)], after),
        ]
    )
    assert [r.value for m in handed for r in m.readings] == [95.0]
    assert stored_rows(harness, creds.device_id) == (2, 2)
    assert service.stats.readings_stored == 2
    assert service.stats.by_reason == {"revoked": 2}
    with psycopg.connect(harness.db_url) as conn:
        reasons = conn.execute(
            "SELECT reason FROM rejected_messages WHERE device_id = %s", (creds.device_id,)
        ).fetchall()
    assert [str(r) for (r,) in reasons] == [f"device {creds.device_id!r} was revoked"] * 2
