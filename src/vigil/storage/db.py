"""Connections, migrations and TimescaleDB feature detection."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

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
    return applied


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
        "SELECT drop_chunks('readings', older_than => now() - make_interval(days => %s))",
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
