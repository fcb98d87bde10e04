"""Migration 0180: readings in small keys behind the ``readings`` view, one index for both
idempotency and a patient's range, every reading kept by the migration on a database with
data, each metric's value given back as stored."""

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
from vigil.storage import compact_readings, migrate, reading_keys
from vigil.storage.db import _migrations

NARROW = 180


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


@pytest.fixture
def before_0180(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A database migrated up to (not including) 0180: the layout deployments hold today."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url(name)
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, file, sql in _migrations():
            if version < NARROW:
                conn.execute(sql.encode())
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (version, file))
    yield url
    with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
            "SELECT (SELECT count(*) FROM reading_patients), (SELECT count(*) FROM reading_devices)"
        ).fetchone()
    expected = sorted(rows, key=lambda r: (r[0], r[5]))
    assert len(stored) == len(expected) == 3000 + 2 * len(Metric)
    assert stored == expected  # every value equal, not merely close
    assert keys == (12, len({r[5] for r in rows}))


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
    assert [i[0].split(" USING ")[1] for i in indexes] == [
        'btree (patient, metric, "time", device)'
    ]
    patient = uuid.uuid4()
    t = datetime(2026, 11, 1, tzinfo=UTC)
    insert = "INSERT INTO readings VALUES (%s, %s, 'spo2', %s, '%%', 'ox-1', now(), NULL)"
    db.execute(insert, (t, patient, 95))
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(insert, (t, patient, 96))  # the same device, metric and time
    db.execute(insert, (t + timedelta(minutes=1), patient, 94))
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
    assert compacted < 0.8 * loaded
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
    patient_key, device_key = reading_keys(db, patient_ids=patients, device_ids=["a-1", "b-1"])
    again = reading_keys(db, patient_ids=patients[:1], device_ids=["a-1"])
    assert again == ({patients[0]: patient_key[patients[0]]}, {"a-1": device_key["a-1"]})
    t = datetime(2026, 11, 3, tzinfo=UTC)
    with (
        db.cursor() as cur,
        cur.copy(
            "COPY reading_rows (time, received_at, patient, device, value, metric)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["timestamptz", "timestamptz", "int4", "int4", "float4", "int2"])
        copy.write_row((t, t, patient_key[patients[1]], device_key["b-1"], 36.9,
                        METRIC_CODES[Metric.BODY_TEMPERATURE]))  # fmt: skip
    assert db.execute(
        "SELECT patient_id, metric, value, unit, device_id FROM readings"
    ).fetchall() == [(patients[1], "body_temperature", 36.9, "Cel", "b-1")]
