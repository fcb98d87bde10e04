"""Late data is not churn: a backlog upload answers the missed-measurements alert of its gap,
and the clock does not open another one for the same gap while the backlog arrives.

100 patients measure every two hours, then their phones go offline for four days; the clock
tells each gap once; the backlog then arrives oldest first, six hours of data a minute, with
the clock ticking between uploads (as a detect worker's does), and the clock keeps ticking
for two more days. Counted against the real alerts stage and database.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from vigil.alerts import AlertService
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.storage import admin
from vigil.streaming.engine import StreamEngine

pytestmark = pytest.mark.integration

PATIENTS = 100
EVERY = timedelta(hours=2)
OFFLINE = timedelta(days=4)
CHUNK = timedelta(hours=6)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(db_url, autocommit=True) as c:
        yield c


def readings(
    patients: list[uuid.UUID], start: datetime, end: datetime, received: datetime | None
) -> list[StoredReading]:
    out = []
    t = start
    while t < end:
        for i, p in enumerate(patients):
            out.append(StoredReading(t, p, Metric.SPO2, 96.0, f"ox-{i}", received or t))
        t += EVERY
    return out


class Clock:
    """The detect worker's engine and alert clock in simulated time."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.engine = StreamEngine()
        self.alerts = AlertService()

    def upload(self, batch: list[StoredReading], now: datetime) -> None:
        findings = self.engine.process(batch)
        self.alerts.apply(self.conn, findings, readings=batch, now=now)

    def tick(self, now: datetime) -> None:
        self.alerts.apply(self.conn, self.engine.tick(now), now=now)


def missing_alerts(conn: psycopg.Connection[Any], patients: list[uuid.UUID]) -> dict[str, Any]:
    rows = conn.execute(
        "SELECT a.patient_id, a.state, a.outcome,"
        " (SELECT count(*) FROM alert_events e WHERE e.alert_id = a.id"
        "   AND e.kind IN ('opened', 'reopened'))"
        " FROM alerts a WHERE a.patient_id = ANY(%s) AND a.detector = 'missing_data'",
        (patients,),
    ).fetchall()
    return {
        "rows": len(rows),
        "per_patient": Counter(Counter(r[0] for r in rows).values()),
        "told": sum(int(r[3]) for r in rows),
        "outcomes": Counter((r[1], r[2]) for r in rows),
    }


def enrol(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    tenant = admin.create_tenant(conn, name=f"late-{uuid.uuid4().hex[:6]}")
    return [
        admin.create_patient(conn, tenant_id=tenant, display_name=f"P{i}", conditions=["copd"])
        for i in range(PATIENTS)
    ]


def live_then_offline(clock: Clock, patients: list[uuid.UUID], t0: datetime) -> datetime:
    """Two days of live readings, then four days offline with the clock ticking hourly."""
    offline_at = t0 + timedelta(days=2)
    clock.upload(readings(patients, t0, offline_at, None), offline_at)
    now = offline_at
    while now < offline_at + OFFLINE:
        now += timedelta(hours=1)
        clock.tick(now)
    return offline_at


def test_a_backlog_leaves_one_alert_per_patient_and_gap(conn: psycopg.Connection[Any]) -> None:
    patients = enrol(conn)
    clock = Clock(conn)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    offline_at = live_then_offline(clock, patients, t0)
    before = missing_alerts(conn, patients)
    assert before["rows"] == PATIENTS  # each gap told once

    now = offline_at + OFFLINE
    chunk_start = offline_at
    while chunk_start < offline_at + OFFLINE:  # the backlog, oldest first
        now += MINUTE
        clock.upload(readings(patients, chunk_start, chunk_start + CHUNK, now), now)
        clock.tick(now)
        chunk_start += CHUNK
    for _ in range(48):  # two more days of the clock, the patients measuring live
        now += timedelta(hours=1)
        clock.upload(readings(patients, now - timedelta(hours=1), now, None), now)
        clock.tick(now)

    after = missing_alerts(conn, patients)
    print(f"backlog of {PATIENTS} patients: {after}")
    assert after["rows"] == PATIENTS
    assert after["per_patient"] == {1: PATIENTS}
    assert after["told"] == PATIENTS  # no reopening either
    assert after["outcomes"] == {("resolved", "answered_by_data"): PATIENTS}


def test_a_partial_backlog_then_silence_is_a_new_gap_told_again(
    conn: psycopg.Connection[Any],
) -> None:
    """The clock is not switched off by a late upload: a device that uploads only the first
    day of its four offline days and then stays silent for three more days is told again."""
    patients = enrol(conn)[:10]
    clock = Clock(conn)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=12)
    offline_at = live_then_offline(clock, patients, t0)
    now = offline_at + OFFLINE + MINUTE
    clock.upload(readings(patients, offline_at, offline_at + timedelta(days=1), now), now)
    uploaded_at = now
    told = []
    while now < uploaded_at + timedelta(days=4):
        now += timedelta(hours=1)
        clock.tick(now)
        told.append(missing_alerts(conn, patients)["rows"])
    assert told[0] == len(patients)  # answered by the partial upload, not opened again at once
    second = told.index(2 * len(patients))  # told again 72 h after the upload, once
    assert 71 <= second <= 72
    assert told[-1] == 2 * len(patients)
