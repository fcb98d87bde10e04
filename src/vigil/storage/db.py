"""Connections, migrations and TimescaleDB feature detection."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from vigil.core.metrics import METRIC_CODES, SPECS, Metric

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x56_49_47_49  # "VIGI": serialises concurrent migrators


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=autocommit)


def application_name(purpose: str) -> str:
    """What a connection says it is in ``pg_stat_activity`` (``vigil ingest``, ``vigil
    detect-1-of-2``, ``vigil api requests``...), so an operator can tell Vigil's loops and
    pools apart on the database (PostgreSQL keeps 63 bytes of it)."""
    return f"vigil {purpose}"[:63]


class LoopConnection:
    """The one connection of a background loop (ingest, a detect worker, the alert loops, live
    plan loading): opened on first use,
    dropped after an error (closing a broken one quietly), opened again on the next use.
    ``purpose`` names it on the database (:func:`application_name`)."""

    def __init__(
        self, url: str, *, purpose: str, connect_timeout: int = 5, autocommit: bool = False
    ) -> None:
        self.url = url
        self.purpose = purpose
        self.connect_timeout = connect_timeout
        self.autocommit = autocommit
        self._conn: psycopg.Connection[Any] | None = None

    def get(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.url,
                connect_timeout=self.connect_timeout,
                autocommit=self.autocommit,
                application_name=application_name(self.purpose),
            )
        return self._conn

    def drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                log.debug("closing a broken connection failed", exc_info=True)
        self._conn = None


def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    purpose: str = "api requests",
    timeout_s: float | None = None,
) -> ConnectionPool:
    """A pool created closed: open it in the application's lifespan. Its connections are named
    by ``purpose`` on the database (:func:`application_name`). ``timeout_s`` bounds the wait
    for a connection, a connection attempt and each statement (psycopg_pool's own default
    wait is 30 s): when the database is away a caller fails within it (PoolTimeout,
    OperationalError, QueryCanceled) instead of hanging."""
    kwargs: dict[str, Any] = {"application_name": application_name(purpose)}
    if timeout_s is None:
        return ConnectionPool(url, min_size=min_size, max_size=max_size, open=False, kwargs=kwargs)
    kwargs["connect_timeout"] = max(1, round(timeout_s))
    kwargs["options"] = f"-c statement_timeout={round(timeout_s * 1000)}"
    return ConnectionPool(
        url, min_size=min_size, max_size=max_size, open=False, kwargs=kwargs, timeout=timeout_s
    )


def _migrations() -> list[tuple[int, str, str]]:
    folder = resources.files("vigil.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Apply every migration not yet applied, in order, all in one transaction under an advisory
    lock: concurrent migrators wait, and a failing migration leaves none of this run applied."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in _migrations():
            if version in done:
                continue
            log.info("applying migration %s", name)
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied.append(name)
        if done | {int(n.split("_", 1)[0]) for n in applied} >= {_NARROW_READINGS}:
            sync_metric_codes(conn)
    return applied


_NARROW_READINGS = 180  # the migration that made reading_metrics


def sync_metric_codes(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Keep ``reading_metrics`` equal to :data:`vigil.core.metrics.METRIC_CODES` and each
    metric's UCUM unit: a metric added there gets its row; a number that names another metric
    or unit in the database stops the start (stored readings would change meaning: a canonical
    unit changes with a migration that converts the readings)."""
    for metric, code in sorted(METRIC_CODES.items(), key=lambda item: item[1]):
        conn.execute(
            "INSERT INTO reading_metrics (id, metric, unit) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (code, metric.value, SPECS[metric].ucum),
        )
        row = conn.execute(
            "SELECT metric, unit FROM reading_metrics WHERE id = %s", (code,)
        ).fetchone()
        if row != (metric.value, SPECS[metric].ucum):
            raise RuntimeError(
                f"metric number {code} is {row} in this database, not"
                f" ({metric.value!r}, {SPECS[metric].ucum!r})"
            )


@dataclass(frozen=True, slots=True)
class TimescaleFeatures:
    version: str
    license: str

    @property
    def community(self) -> bool:
        """Compression, continuous aggregates and policies exist only in the community license."""
        return self.license == "timescale"


def detect_timescale(conn: psycopg.Connection[tuple[object, ...]]) -> TimescaleFeatures:
    row = conn.execute(
        "SELECT extversion, current_setting('timescaledb.license', true)"
        " FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    if row is None:
        raise RuntimeError("the timescaledb extension is not installed in this database")
    return TimescaleFeatures(version=str(row[0]), license=str(row[1] or "apache"))


READINGS_CHANNEL = "vigil_new_readings"
"""NOTIFY channel: the ids of patients with newly stored readings, comma-separated (sent in
the storing transaction, so delivered on commit). API processes drop those patients' cached
charts when they hear it."""

_NOTIFY_IDS = 200  # 36 characters and a comma each: well under NOTIFY's 8,000-byte payload


def notify_new_readings(conn: psycopg.Connection[Any], patient_ids: Iterable[object]) -> None:
    """Tell listeners which patients have new readings, in the caller's transaction."""
    ids = sorted({str(p) for p in patient_ids})
    for start in range(0, len(ids), _NOTIFY_IDS):
        payload = ",".join(ids[start : start + _NOTIFY_IDS])
        conn.execute("SELECT pg_notify(%s, %s)", (READINGS_CHANNEL, payload))


def rebuild_latest_readings(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Recompute ``latest_readings`` from ``readings``, a CGM's LOW/HIGH mark included: for
    data loaded around ingest (bulk imports, benchmarks, tests); ingest keeps it current by
    itself."""
    conn.execute("DELETE FROM latest_readings")
    cur = conn.execute(
        "INSERT INTO latest_readings (patient_id, metric, time, value, unit, device_id, censored)"
        " SELECT DISTINCT ON (patient_id, metric) patient_id, metric, time, value, unit,"
        " device_id, censored FROM readings ORDER BY patient_id, metric, time DESC"
    )
    return cur.rowcount


def apply_retention(conn: psycopg.Connection[tuple[object, ...]], *, days: int) -> int:
    """Drop readings chunks older than ``days``: ``drop_chunks`` works under every license."""
    rows = conn.execute(
        "SELECT drop_chunks('reading_rows', older_than => now() - make_interval(days => %s))",
        (days,),
    ).fetchall()
    # The clinic list's day and hour rollups of what was dropped (recomputed if readings
    # remain).
    conn.execute(
        "DELETE FROM glucose_day_rollups"
        " WHERE day <= ((now() - make_interval(days => %s)) AT TIME ZONE 'UTC')::date",
        (days,),
    )
    conn.execute(
        "DELETE FROM glucose_hour_rollups WHERE hour < (((now() - make_interval(days => %s))"
        " AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC'",
        (days,),
    )
    return len(rows)


def reading_series_keys(
    conn: psycopg.Connection[Any], *, series: Iterable[tuple[UUID, Metric, str]]
) -> dict[tuple[UUID, Metric, str], int]:
    """The integer keys ``reading_rows`` stores for these (patient, metric, device) series
    (made for those without one), for a loader that COPYs into ``reading_rows`` itself (a
    bench's bare COPY)."""
    wanted = sorted(set(series), key=lambda k: (str(k[0]), k[1].value, k[2]))
    args = (
        [p for p, _, _ in wanted],
        [METRIC_CODES[m] for _, m, _ in wanted],
        [d for _, _, d in wanted],
    )
    conn.execute(
        "INSERT INTO reading_series (patient_id, metric, device_id)"
        " SELECT * FROM unnest(%s::uuid[], %s::int2[], %s::text[]) AS w(p, m, d)"
        " WHERE NOT EXISTS (SELECT FROM reading_series k"
        " WHERE k.patient_id = w.p AND k.metric = w.m AND k.device_id = w.d)"
        " ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING",
        args,
    )
    rows = conn.execute(
        "SELECT w.n, k.id FROM unnest(%s::uuid[], %s::int2[], %s::text[])"
        " WITH ORDINALITY AS w(p, m, d, n) JOIN reading_series k"
        " ON k.patient_id = w.p AND k.metric = w.m AND k.device_id = w.d",
        args,
    ).fetchall()
    return {wanted[int(n) - 1]: int(k) for n, k in rows}


def compact_readings(
    url: str, *, hypertable: str = "public.reading_rows", closed_for: timedelta = timedelta(hours=1)
) -> list[str]:
    """Rebuild the indexes of ``hypertable``'s chunks that closed at least ``closed_for`` ago
    and were not rebuilt yet (``REINDEX INDEX CONCURRENTLY``: reads and writes go on); returns
    the chunks rebuilt. Readings arrive in time order across series, so a chunk's (series,
    time) index has half-empty pages while it is written (a page split in the middle of a
    series leaves a half page that no later reading of it fills; one at a series' end splits at
    the fill factor); rebuilt, it is full to the index's fill factor (90 %). A late reading for
    a compacted chunk splits a page again."""
    schema, name = hypertable.split(".")
    done: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM reading_chunks_compacted k WHERE to_regclass(k.chunk) IS NULL"
        )  # dropped by retention
        chunks = conn.execute(
            "SELECT c.chunk_schema, c.chunk_name FROM timescaledb_information.chunks c"
            " WHERE c.hypertable_schema = %s AND c.hypertable_name = %s"
            " AND c.range_end < now() - %s AND NOT EXISTS (SELECT FROM reading_chunks_compacted k"
            " WHERE k.chunk = c.chunk_schema || '.' || c.chunk_name) ORDER BY c.range_end",
            (schema, name, closed_for),
        ).fetchall()
        for chunk_schema, chunk_name in chunks:
            indexes = conn.execute(
                "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                " WHERE x.indrelid = %s::regclass ORDER BY 1",
                (f'"{chunk_schema}"."{chunk_name}"',),
            ).fetchall()
            for (index,) in indexes:
                conn.execute(
                    sql.SQL("REINDEX INDEX CONCURRENTLY {}").format(
                        sql.Identifier(str(chunk_schema), str(index))
                    )
                )
            conn.execute(
                "INSERT INTO reading_chunks_compacted (chunk) VALUES (%s) ON CONFLICT DO NOTHING",
                (f"{chunk_schema}.{chunk_name}",),
            )
            done.append(f"{chunk_schema}.{chunk_name}")
    return done
