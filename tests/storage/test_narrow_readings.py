"""Migrations 0180 and 0190: readings in small keys (one series key a row since 0190) behind
the ``readings`` view, one index for both idempotency and a patient's range, every reading kept
by each migration on a database with data, each metric's value given back as stored."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from vigil.core.metrics import METRIC_CODES, SPECS, Metric
from vigil.servers import EmbeddedPostgres
from vigil.storage import compact_readings, migrate, reading_series_keys
from vigil.storage.db import _migrations

NARROW = 180
SERIES = 190


def _float32_ulp(x: float) -> float:
    return 2.0 ** (math.floor(math.log2(abs(x))) - 23)


@pytest.mark.parametrize("metric", list(Metric))
def test_every_metric_fits_a_real(metric: Metric) -> None:
    """Ingest keeps ``decimals + 2`` places (to_canonical): below the metric's plausible
    maximum one float4 step is finer than that, so a float4's shortest text is the decimal."""
    spec = SPECS[metric]
    assert _float32_ulp(spec.high) < 10.0 ** -(spec.decimals + 2)


def test_metric_codes_are_the_databases(db: psycopg.Connection[Any]) -> None:
    rows = db.execute("SELECT id, metric, unit FROM reading_metrics ORDER BY id").fetchall()
    assert rows == sorted((METRIC_CODES[m], m.value, SPECS[m].ucum) for m in Metric)
    assert sorted(METRIC_CODES.values()) == list(range(1, len(Metric) + 1))


def _migrated_up_to(pg_server: EmbeddedPostgres, version: int) -> Iterator[str]:
    """A database migrated up to (not including) ``version``."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for number, file, sql in _migrations():
            if number < version:
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (number, file))
    yield url
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def before_0180(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A database migrated up to (not including) 0180: the layout deployments held before."""
    yield from _migrated_up_to(pg_server, NARROW)


@pytest.fixture
def before_0190(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A database migrated up to (not including) 0190: 0180's patient, device and metric keys."""
    yield from _migrated_up_to(pg_server, SERIES)


def _value(rng: random.Random, metric: Metric) -> float:
    """A value as ingest stores it: within the plausible range, ``decimals + 2`` places."""
    spec = SPECS[metric]
    places = spec.decimals + 2
    return round(rng.uniform(max(spec.low, 10.0**-places), spec.high), places)


def test_migration_keeps_every_reading_and_value(before_0180: str) -> None:
    rng = random.Random(28)
    t0 = datetime(2026, 9, 1, tzinfo=UTC)
    patients = [uuid.uuid4() for _ in range(12)]
    rows = []
    for i in range(3000):  # 3,000 readings over 40 days: six chunks
        metric = list(Metric)[i % len(Metric)]
        value = _value(rng, metric)
        censored = None
        if metric is Metric.GLUCOSE and i % 7 == 0:
            value, censored = (40.0, "below") if i % 2 else (400.0, "above")
        patient = patients[i % len(patients)]
        time = t0 + timedelta(minutes=19 * i, microseconds=i)
        rows.append((time, patient, metric.value, value, SPECS[metric].ucum,
                     f"dev-{patient.hex[:6]}-{metric.value}", time + timedelta(seconds=3),
                     censored))  # fmt: skip
    # The extremes of every metric, too.
    for n, metric in enumerate(Metric):
        for value in (
            SPECS[metric].high,
            round(SPECS[metric].high - 10.0 ** -(SPECS[metric].decimals + 2), 6),
        ):
            time = t0 + timedelta(days=1, seconds=n, microseconds=int(value * 100) % 999)
            rows.append((time, patients[0], metric.value, value, SPECS[metric].ucum, "edge-1",
                         time, None))  # fmt: skip
    with psycopg.connect(before_0180) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO readings VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.commit()
        applied = migrate(conn)
        assert applied[0].startswith("0180_")
        stored = conn.execute(
            "SELECT time, patient_id, metric, value, unit, device_id, received_at, censored"
            " FROM readings ORDER BY time, device_id"
        ).fetchall()
        keys = conn.execute(
            "SELECT count(*), count(DISTINCT patient_id), count(DISTINCT device_id)"
            " FROM reading_series"
        ).fetchone()
    expected = sorted(rows, key=lambda r: (r[0], r[5]))
    assert len(stored) == len(expected) == 3000 + 2 * len(Metric)
    assert stored == expected  # every value equal, not merely close
    assert keys == (len({(r[1], r[2], r[5]) for r in rows}), 12, len({r[5] for r in rows}))


def test_0190_keeps_every_reading_and_compacts_the_closed_chunks(before_0190: str) -> None:
    """Readings stored in 0180's layout (through its view) come back equal from 0190's, two
    devices' readings of one metric at one instant included; the copied chunks' index is built
    once, so the closed ones are noted as compacted."""
    rng = random.Random(190)
    now = datetime.now(UTC).replace(microsecond=0)
    patients = [uuid.uuid4() for _ in range(5)]
    rows = []
    for i in range(2000):  # 2,000 readings over 20 days up to now: closed chunks and the open one
        metric = list(Metric)[i % len(Metric)]
        patient = patients[i % len(patients)]
        time = now - timedelta(minutes=14 * i, microseconds=i)
        value, censored = _value(rng, metric), None
        if metric is Metric.GLUCOSE and i % 3 == 0:
            value, censored = 40.0, "below"
        for device in ("a", "b") if metric is Metric.HEART_RATE else ("a",):
            received = time + timedelta(seconds=2)
            rows.append((time, patient, metric.value, value, SPECS[metric].ucum,
                         f"{device}-{patient.hex[:6]}", received, censored))  # fmt: skip
    with psycopg.connect(before_0190) as conn:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO readings VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.commit()
        assert migrate(conn)[0].startswith("0190_")
        stored = conn.execute(
            "SELECT time, patient_id, metric, value, unit, device_id, received_at, censored"
            " FROM readings ORDER BY time, device_id"
        ).fetchall()
        noted = conn.execute(
            "SELECT (SELECT count(*) FROM reading_chunks_compacted), count(*) FILTER"
            " (WHERE range_end < now() - interval '1 hour') FROM timescaledb_information.chunks"
            " WHERE hypertable_name = 'reading_rows'"
        ).fetchone()
        gone = conn.execute(
            "SELECT to_regclass('reading_patients'), to_regclass('reading_devices'),"
            " to_regclass('reading_rows_0180')"
        ).fetchone()
    expected = sorted(rows, key=lambda r: (r[0], r[5]))
    assert len(stored) == len(expected) > 2000
    assert stored == expected
    assert noted is not None
    assert noted[0] == noted[1] >= 2
    assert gone == (None, None, None)


def test_migration_refuses_a_reading_in_another_unit(before_0180: str) -> None:
    with psycopg.connect(before_0180) as conn:
        conn.execute(
            "INSERT INTO readings VALUES (now(), gen_random_uuid(), 'glucose', 5.5, 'mmol/L',"
            " 'm-1', now(), NULL)"
        )
        conn.commit()
        with pytest.raises(psycopg.errors.RaiseException, match="mmol/L"):
            migrate(conn)
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (1,)


def test_one_index_serves_idempotency_and_a_patients_range(db: psycopg.Connection[Any]) -> None:
    indexes = db.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'reading_rows'"
    ).fetchall()
    assert [i[0].split(" USING ")[1] for i in indexes] == ['btree (series, "time")']
    patient = uuid.uuid4()
    t = datetime(2026, 11, 1, tzinfo=UTC)
    insert = "INSERT INTO readings VALUES (%s, %s, 'spo2', %s, '%%', 'ox-1', now(), NULL)"
    db.execute(insert, (t, patient, 95))
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(insert, (t, patient, 96))  # the same device, metric and time
    db.execute(insert, (t + timedelta(minutes=1), patient, 94))
    # Another device's reading of the same metric at the same instant is another reading.
    db.execute(insert.replace("'ox-1'", "'ox-2'"), (t, patient, 93))
    assert db.execute(
        "SELECT count(*) FROM readings WHERE patient_id = %s AND time = %s", (patient, t)
    ).fetchone() == (2,)
    db.execute("DELETE FROM readings WHERE device_id = 'ox-2'")
    db.execute("SET enable_seqscan = off")  # two rows: show that the index can serve it
    plan = "\n".join(
        str(r[0])
        for r in db.execute(
            "EXPLAIN SELECT time, value FROM readings WHERE patient_id = %s AND metric = 'spo2'"
            " AND time >= %s AND time < %s",
            (patient, t, t + timedelta(days=1)),
        ).fetchall()
    )
    assert "reading_rows_key" in plan, plan
    assert db.execute(
        "SELECT array_agg(value ORDER BY time) FROM readings WHERE patient_id = %s", (patient,)
    ).fetchone() == ([95.0, 94.0],)


def test_a_unit_other_than_the_metrics_is_refused(db: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="mg/dL"):
        db.execute(
            "INSERT INTO readings VALUES (now(), gen_random_uuid(), 'glucose', 5.5, 'mmol/L',"
            " 'm-1', now(), NULL)"
        )


def _index_bytes(db: psycopg.Connection[Any]) -> int:
    row = db.execute("SELECT hypertable_index_size('reading_rows_key')").fetchone()
    assert row is not None
    return int(row[0])


def test_closed_chunks_are_compacted_once_and_keep_their_readings(
    db_url: str, db: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC)
    patients = [uuid.uuid4() for _ in range(40)]
    # Three weeks in time order across patients, as ingest stores them: two closed chunks or
    # more, and the open one.
    db.execute(
        "INSERT INTO readings SELECT t, p, 'heart_rate', 70 + (extract(epoch FROM t)::int %% 30),"
        " '/min', 'hr-' || left(p::text, 8), t, NULL"
        " FROM generate_series(%s::timestamptz, %s, '10 minutes') t, unnest(%s::uuid[]) p"
        " ORDER BY t",
        (now - timedelta(days=21), now, patients),
    )
    count = db.execute("SELECT count(*), sum(value) FROM readings").fetchone()
    chunks = db.execute(
        "SELECT count(*) FILTER (WHERE range_end < now() - interval '1 hour'), count(*)"
        " FROM timescaledb_information.chunks WHERE hypertable_name = 'reading_rows'"
    ).fetchone()
    assert chunks is not None
    closed, total = chunks
    assert closed >= 2
    assert total > closed
    loaded = _index_bytes(db)
    done = compact_readings(db_url)
    assert len(done) == closed
    compacted = _index_bytes(db)
    # 0190's 28-byte entries fill most pages to the fill factor while a chunk is written (a
    # series at a page's end splits there), so the rebuild gains about a tenth, not a third.
    assert compacted < loaded
    assert compact_readings(db_url) == []  # noted: not rebuilt again
    assert db.execute("SELECT count(*), sum(value) FROM readings").fetchone() == count


def test_a_metric_number_meaning_something_else_stops_the_start(
    db: psycopg.Connection[Any],
) -> None:
    db.execute("UPDATE reading_metrics SET unit = 'mmol/L' WHERE metric = 'glucose'")
    with pytest.raises(RuntimeError, match="metric number 5"):
        migrate(db)
    db.execute("DELETE FROM reading_metrics WHERE metric = 'carbs'")  # a metric missing: made
    db.execute("UPDATE reading_metrics SET unit = 'mg/dL' WHERE metric = 'glucose'")
    migrate(db)
    assert db.execute("SELECT unit FROM reading_metrics WHERE id = 10").fetchone() == ("g",)


def test_a_delete_from_the_view_deletes_those_readings_only(db: psycopg.Connection[Any]) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    t = datetime(2026, 11, 2, tzinfo=UTC)
    for patient in (a, b):
        for minutes in range(3):
            db.execute(
                "INSERT INTO readings VALUES (%s, %s, 'glucose', 120, 'mg/dL', 'cgm-1', now(),"
                " NULL), (%s, %s, 'spo2', 97, '%%', 'ox-1', now(), NULL)",
                (t + timedelta(minutes=minutes), patient) * 2,
            )
    cur = db.execute(
        "DELETE FROM readings WHERE patient_id = %s AND metric = 'glucose' AND time > %s", (a, t)
    )
    assert cur.rowcount == 2
    left = db.execute(
        "SELECT patient_id = %s, metric, count(*) FROM readings GROUP BY 1, 2 ORDER BY 1, 2",
        (a,),
    ).fetchall()
    assert left == [(False, "glucose", 3), (False, "spo2", 3), (True, "glucose", 1),
                    (True, "spo2", 3)]  # fmt: skip


def test_a_loader_copies_into_reading_rows_by_its_keys(db: psycopg.Connection[Any]) -> None:
    """What bench ingest's bare COPY baseline and bench api's loader do."""
    patients = [uuid.uuid4(), uuid.uuid4()]
    wanted = [(patients[0], Metric.SPO2, "a-1"), (patients[1], Metric.BODY_TEMPERATURE, "b-1")]
    series = reading_series_keys(db, series=wanted)
    again = reading_series_keys(db, series=wanted[:1])
    assert sorted(series) == sorted(wanted)
    assert again == {wanted[0]: series[wanted[0]]}
    t = datetime(2026, 11, 3, tzinfo=UTC)
    with (
        db.cursor() as cur,
        cur.copy(
            "COPY reading_rows (time, received_at, series, value) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["timestamptz", "timestamptz", "int4", "float4"])
        copy.write_row((t, t, series[wanted[1]], 36.9))
    assert db.execute(
        "SELECT patient_id, metric, value, unit, device_id FROM readings"
    ).fetchall() == [(patients[1], "body_temperature", 36.9, "Cel", "b-1")]
