"""`vigil bench storage`: bytes a reading and the read queries, the readings' layouts before
migrations 0180 and 0190 beside the one that ships, in one run on one embedded PostgreSQL.

The same readings (``--patients`` for ``--days``, a fifth of them on a 5-minute CGM, every
patient with home vitals: a cuff twice a day, an oximeter four times, a scale and a
thermometer) go into each layout in time order, as ingest stores them:

* **before**: the table of migration 0001 (text metric and device, uuid patient, float8 value,
  the unit in every row) with its two indexes and TimescaleDB's default time index, in a schema
  of its own (``bench_before``);
* **0180**: migration 0180's ``reading_rows`` (patient, device and metric keys in each row, one
  unique index (patient, metric, time, device)) behind its ``readings`` view, in ``bench_0180``;
* **after**: ``reading_rows`` behind the ``readings`` view, the layout migrations make now
  (0190: one series key a row, one unique index (series, time)).

Then ``hypertable_detailed_size`` per reading (heap, each index, total) for each as loaded,
and again once the closed chunks' indexes are rebuilt (:func:`vigil.storage.compact_readings`,
what ``vigil serve``'s upkeep loop does; every layout, so the comparison stays fair), and the
reads timed alternately on each (``search_path`` picks the layout, the SQL is the product's
own): the API's 30-day hourly rollup of a patient's heart rate and of a CGM patient's glucose,
and a CGM patient's 14-day AGP (summary, profile, days, lows). Loading skips the glucose
rollup trigger (``session_replication_role = replica``): it is the clinic list's cost, not
storage's.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from vigil.api.clinical_repo import rollup_query
from vigil.core.metrics import Metric
from vigil.reports import build_agp
from vigil.servers import EmbeddedPostgres
from vigil.storage import compact_readings, migrate

BEFORE = "bench_before"
"""The schema of the layout before migration 0180 (named as such in the SQL below)."""
PREVIOUS = "bench_0180"
"""The schema of migration 0180's layout, the one before 0190 (named as such below)."""

_BEFORE_TABLE = """
CREATE SCHEMA bench_before;
CREATE TABLE bench_before.readings (
    time         timestamptz NOT NULL,
    patient_id   uuid NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    unit         text NOT NULL,
    device_id    text NOT NULL,
    received_at  timestamptz NOT NULL,
    censored     text CHECK (censored IN ('below', 'above'))
);
SELECT create_hypertable('bench_before.readings', by_range('time', INTERVAL '7 days'));
CREATE UNIQUE INDEX readings_idempotency ON bench_before.readings (device_id, metric, time);
CREATE INDEX readings_patient_metric_time ON bench_before.readings (patient_id, metric, time DESC);
"""

# Per patient and day: (metric, unit, readings a day, mean, spread, decimals, device kind).
_VITALS = (
    ("bp_systolic", "mm[Hg]", 2, 132, 14, 0, "bp"),
    ("bp_diastolic", "mm[Hg]", 2, 82, 9, 0, "bp"),
    ("heart_rate", "/min", 2, 74, 9, 0, "bp"),
    ("spo2", "%", 4, 96, 1.5, 0, "ox"),
    ("heart_rate", "/min", 4, 76, 10, 0, "ox"),
    ("body_weight", "kg", 1, 78, 12, 1, "scale"),
    ("body_temperature", "Cel", 2, 36.7, 0.3, 1, "thermo"),
)

_LOAD = """
INSERT INTO bench_before.readings
SELECT time, id, metric, value, unit, device, time + interval '2 seconds',
       CASE WHEN metric <> 'glucose' THEN NULL
            WHEN value <= 40 THEN 'below' WHEN value >= 400 THEN 'above' END
FROM (
  SELECT t AS time, p.id, 'glucose' AS metric,
         least(400, greatest(40, round(140 + 60 * sin(extract(epoch FROM t) / 13751.0 + p.n)
                                       + 40 * (random() - 0.5)))) AS value,
         'mg/dL' AS unit, 'cgm-' || p.n AS device
  FROM bench_patients p, generate_series(%(start)s::timestamptz, %(end)s, '5 minutes') t
  WHERE p.cgm
  UNION ALL
  SELECT t + make_interval(secs => p.n %% 3600), p.id, s.metric,
         round((s.mean + s.spread * (random() + random() + random() - 1.5))::numeric,
               s.decimals)::float8,
         s.unit, s.kind || '-' || p.n
  FROM bench_patients p, bench_schedule s,
       generate_series(%(start)s::timestamptz, %(end)s - interval '1 hour',
                       make_interval(secs => 86400.0 / s.per_day)) t
) v
ORDER BY time
"""

_AFTER_LOAD = """
INSERT INTO reading_series (patient_id, metric, device_id)
SELECT DISTINCT r.patient_id, m.id, r.device_id
FROM bench_before.readings r JOIN reading_metrics m ON m.metric = r.metric
ORDER BY 1, 2, 3;
INSERT INTO reading_rows (time, received_at, series, value, censored)
SELECT r.time, r.received_at, s.id, r.value, r.censored
FROM bench_before.readings r
JOIN reading_metrics m ON m.metric = r.metric
JOIN reading_series s
  ON s.patient_id = r.patient_id AND s.metric = m.id AND s.device_id = r.device_id
ORDER BY r.time;
"""

_PREVIOUS_TABLE = """
CREATE SCHEMA bench_0180;
CREATE TABLE bench_0180.reading_patients (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  uuid NOT NULL UNIQUE
);
CREATE TABLE bench_0180.reading_devices (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id  text NOT NULL UNIQUE
);
CREATE TABLE bench_0180.reading_rows (
    time         timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    patient      integer NOT NULL,
    device       integer NOT NULL,
    value        real NOT NULL,
    metric       smallint NOT NULL,
    censored     text CHECK (censored IN ('below', 'above'))
);
SELECT create_hypertable('bench_0180.reading_rows', by_range('time', INTERVAL '7 days'),
                         create_default_indexes => false);
CREATE UNIQUE INDEX reading_rows_key ON bench_0180.reading_rows (patient, metric, time, device);
CREATE VIEW bench_0180.readings AS
SELECT r.time, p.patient_id, m.metric, r.value::text::float8 AS value, m.unit, d.device_id,
       r.received_at, r.censored
FROM bench_0180.reading_rows r
LEFT JOIN bench_0180.reading_patients p ON p.id = r.patient
LEFT JOIN public.reading_metrics m ON m.id = r.metric
LEFT JOIN bench_0180.reading_devices d ON d.id = r.device;
"""

_PREVIOUS_LOAD = """
INSERT INTO bench_0180.reading_patients (patient_id)
SELECT DISTINCT patient_id FROM bench_before.readings ORDER BY 1;
INSERT INTO bench_0180.reading_devices (device_id)
SELECT DISTINCT device_id FROM bench_before.readings ORDER BY 1;
INSERT INTO bench_0180.reading_rows (time, received_at, patient, device, value, metric, censored)
SELECT r.time, r.received_at, p.id, d.id, r.value, m.id, r.censored
FROM bench_before.readings r
JOIN bench_0180.reading_patients p ON p.patient_id = r.patient_id
JOIN bench_0180.reading_devices d ON d.device_id = r.device_id
JOIN reading_metrics m ON m.metric = r.metric
ORDER BY r.time;
"""


def _sizes(conn: psycopg.Connection[Any], table: str, readings: int) -> dict[str, float]:
    """Bytes a reading of ``table`` (a hypertable): heap, each index, total."""
    row = conn.execute(
        "SELECT table_bytes, index_bytes, total_bytes FROM hypertable_detailed_size(%s)", (table,)
    ).fetchone()
    assert row is not None
    out = {"heap": round(row[0] / readings, 1)}
    schema, name = table.split(".")
    for (index,) in conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s ORDER BY 1",
        (schema, name),
    ).fetchall():
        size = conn.execute("SELECT hypertable_index_size(%s)", (f"{schema}.{index}",)).fetchone()
        assert size is not None
        out[f"index {index}"] = round(int(size[0]) / readings, 1)
    out["indexes"] = round(row[1] / readings, 1)
    out["total"] = round(row[2] / readings, 1)
    return out


def _load(conn: psycopg.Connection[Any], *, patients: int, days: int) -> dict[str, Any]:
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    conn.execute(
        "CREATE TABLE bench_patients AS SELECT n, gen_random_uuid() AS id, n %% 5 = 0 AS cgm"
        " FROM generate_series(1, %s) n",
        (patients,),
    )
    conn.execute(
        "CREATE TABLE bench_schedule (metric text, unit text, per_day int, mean float8,"
        " spread float8, decimals int, kind text)"
    )
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bench_schedule VALUES (%s, %s, %s, %s, %s, %s, %s)", _VITALS)
    conn.execute(_BEFORE_TABLE)
    conn.execute("SET session_replication_role = replica")  # no glucose-day trigger
    started = time.perf_counter()
    conn.execute(_LOAD, {"start": end - timedelta(days=days), "end": end})
    before_s = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute(_AFTER_LOAD)
    after_s = time.perf_counter() - started
    conn.execute(_PREVIOUS_TABLE)
    started = time.perf_counter()
    conn.execute(_PREVIOUS_LOAD)
    previous_s = time.perf_counter() - started
    conn.execute("RESET session_replication_role")
    conn.commit()
    row = conn.execute("SELECT count(*) FROM bench_before.readings").fetchone()
    assert row is not None
    conn.commit()
    return {"readings": int(row[0]), "end": end, "load_before_s": round(before_s, 1),
            "load_0180_s": round(previous_s, 1), "load_after_s": round(after_s, 1)}  # fmt: skip


def _percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return f"p50 {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms ({len(ms)})"


def _time_reads(
    conn: psycopg.Connection[Any], *, end: datetime, rounds: int, seed: int
) -> dict[str, str]:
    rng = random.Random(seed)
    rows = conn.execute("SELECT id, cgm FROM bench_patients ORDER BY n").fetchall()
    everyone: list[UUID] = [r[0] for r in rows]
    cgm: list[UUID] = [r[0] for r in rows if r[1]]
    start30, start14 = end - timedelta(days=30), end - timedelta(days=14)

    def rollup(patient: UUID, metric: Metric) -> Callable[[], object]:
        query, params = rollup_query(
            patient_id=patient, metric=metric, bucket=timedelta(hours=1), bucket_name="1h",
            start=start30, end=end,
        )  # fmt: skip
        return lambda: conn.execute(sql.Composed([query]), params).fetchone()

    def agp(patient: UUID) -> Callable[[], object]:
        return lambda: build_agp(
            conn, patient_id=patient, start=start14, end=end, time_zone="Asia/Seoul"
        )

    reads: dict[str, Callable[[], Callable[[], object]]] = {
        "rollup_30d_heart_rate": lambda: rollup(rng.choice(everyone), Metric.HEART_RATE),
        "rollup_30d_glucose": lambda: rollup(rng.choice(cgm), Metric.GLUCOSE),
        "agp_14d": lambda: agp(rng.choice(cgm)),
    }
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, make in reads.items():
            call = make()  # the same patient on every layout, oldest first
            for layout, path in (
                ("before", f"{BEFORE}, public"),
                ("0180", f"{PREVIOUS}, public"),
                ("after", "public"),
            ):
                conn.execute(f"SET search_path = {path}")
                started = time.perf_counter()
                call()
                times.setdefault(f"{name} {layout}", []).append(
                    (time.perf_counter() - started) * 1000
                )
    conn.execute("SET search_path = public")
    return {name: _percentiles(ms) for name, ms in times.items()}


def run_bench(*, patients: int = 1000, days: int = 30, rounds: int = 200) -> dict[str, Any]:
    """The three layouts on a fresh embedded PostgreSQL in a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="vigil-storage-bench-"))
    root.chmod(0o755)
    server = EmbeddedPostgres(root / "postgres", durable=False)
    server.start()
    try:
        with psycopg.connect(server.url()) as conn:
            migrate(conn)
            loaded = _load(conn, patients=patients, days=days)
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE bench_before.readings")
            conn.execute(f"VACUUM ANALYZE {PREVIOUS}.reading_rows")
            conn.execute("VACUUM ANALYZE reading_rows")
            conn.execute(f"ANALYZE reading_series, {PREVIOUS}.reading_patients,"
                         f" {PREVIOUS}.reading_devices")  # fmt: skip
            n = loaded["readings"]
            layouts = {
                "before": f"{BEFORE}.readings",
                "0180": f"{PREVIOUS}.reading_rows",
                "after": "public.reading_rows",
            }
            result: dict[str, Any] = {
                "readings": n,
                "patients": f"{patients} ({patients // 5} on CGM), {days} days",
                "load s": f"before {loaded['load_before_s']}, 0180 {loaded['load_0180_s']},"
                f" after {loaded['load_after_s']}",
            }
            for layout, table in layouts.items():
                result[f"{layout} B/reading"] = _sizes(conn, table, n)
            # What the upkeep loop does to closed chunks (all but the last week's), each layout.
            took = []
            for layout, table in layouts.items():
                started = time.perf_counter()
                closed = compact_readings(server.url(), hypertable=table)
                took.append(f"{layout} {time.perf_counter() - started:.1f} s")
            result["compacted chunks"] = f"{len(closed)} of {len(closed) + 1}: " + ", ".join(took)
            for layout, table in layouts.items():
                result[f"{layout} compacted B/reading"] = _sizes(conn, table, n)
            result.update(_time_reads(conn, end=loaded["end"], rounds=rounds, seed=patients))
        return result
    finally:
        server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)  # two copies of the readings: gigabytes
