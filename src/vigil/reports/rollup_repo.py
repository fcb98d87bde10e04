"""SQL of the clinic list's rollups (migrations 0111 and 0160): each patient's CGM per UTC day
and per UTC hour as segments (count, sum, sum of squares, the time-weighted seconds of every
reading but the last, in all and per range; the first and last reading), computed and stored
when missing or stale; and the one statement that joins a period's stored days and hours with
its partial first and last hours, read live, into each patient's summary."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from vigil.clinical.glycaemia import GLUCOSE_RANGES, READING_SPAN_CAP
from vigil.core.metrics import Metric
from vigil.reports.agp_repo import Conn, range_test

RANGES_KEY = (
    ";".join(f"{r.key}:{r.low}:{r.high}:{r.includes_low}:{r.includes_high}" for r in GLUCOSE_RANGES)
    + f";cap:{READING_SPAN_CAP.total_seconds()}"
)
"""The ranges and cap a rollup row was counted with: a row counted otherwise is stale."""
RANGES_HASH = int.from_bytes(hashlib.sha256(RANGES_KEY.encode()).digest()[:8], "big", signed=True)
"""The same as a number (an hour row carries it: 8 bytes, not the key's 150)."""

Span = tuple[datetime, datetime]
"""``[start, end)``."""

_DAY_OF = "(time AT TIME ZONE 'UTC')::date"
_HOUR_OF = "date_trunc('hour', time, 'UTC')"
_SOURCE = "SELECT patient_id, {bucket} AS bucket, time, value FROM readings"

# Within a (patient, bucket) segment each reading but the last stands for the time to the
# next one, capped, exactly as the AGP's spans; the last one's span is joined by
# _SUMMARIES (it reaches into the next segment with readings, or, at the period's end, back
# to the one before it).
_SEGMENTS = """
SELECT patient_id, bucket, count(*) AS readings, sum(value) AS value_sum,
       sum(value * value) AS value_sq_sum,
       coalesce(extract(epoch FROM sum(least(gap, %(cap)s)) FILTER (WHERE NOT last)), 0)
       AS covered_s,
       ARRAY[{ranges}]::float8[] AS range_s,
       min(time) AS first_time, max(time) AS last_time,
       max(value) FILTER (WHERE last) AS last_value,
       max(extract(epoch FROM back)) FILTER (WHERE last) AS last_back_s
FROM (SELECT patient_id, bucket, time, value, lead(time) OVER w - time AS gap,
             time - lag(time) OVER w AS back, lead(time) OVER w IS NULL AS last
      FROM ({source}) src
      WINDOW w AS (PARTITION BY patient_id, bucket ORDER BY time)) r
GROUP BY patient_id, bucket
"""

_COLUMNS = (
    "readings, value_sum, value_sq_sum, covered_s, range_s, first_time, last_time, last_value,"
    " last_back_s"
)

# A period's segments in time order per patient: its stored whole days and whole hours and its
# partial hours computed now. Each segment's last reading stands for the time to the next
# segment's first reading, or, for the period's last reading, back to the one before it (in
# its segment, else the previous segment's last), capped: the AGP window's lead/lag.
#
# Also returned: whether every day and hour row was found current, without a lookup per row.
# A row's generation is at most its day's (or hour's) present one (generations only grow, and
# a row stores the one its snapshot saw), so the rows found are all current exactly when there
# is one per (patient, day) and (patient, hour) and the sum of their generations equals the
# sum of the present ones.
_SUMMARIES = """
WITH days AS (
    SELECT patient_id, generation, {columns} FROM glucose_day_rollups
    WHERE patient_id = ANY(%(patients)s) AND day >= %(d0)s AND day < %(d1)s
      AND ranges_key = %(key)s
), hours AS (
    SELECT patient_id, generation, {columns} FROM glucose_hour_rollups
    WHERE patient_id = ANY(%(patients)s) AND hour >= %(h0)s AND hour < %(h1)s
      AND ranges_hash = %(hash)s
    UNION ALL
    SELECT patient_id, generation, {columns} FROM glucose_hour_rollups
    WHERE patient_id = ANY(%(patients)s) AND hour >= %(h2)s AND hour < %(h3)s
      AND ranges_hash = %(hash)s
), seg AS (
    SELECT patient_id, {columns} FROM days WHERE readings > 0
    UNION ALL
    SELECT patient_id, {columns} FROM hours WHERE readings > 0
    UNION ALL
    SELECT patient_id, {columns} FROM ({live}) l
), spans AS (
    SELECT patient_id, readings, value_sum, value_sq_sum, covered_s, range_s,
           last_value AS value,
           least(coalesce(extract(epoch FROM lead(first_time) OVER w - last_time),
                          CASE WHEN readings > 1 THEN last_back_s END,
                          extract(epoch FROM last_time - lag(last_time) OVER w),
                          %(cap_s)s), %(cap_s)s) AS last_span
    FROM seg WINDOW w AS (PARTITION BY patient_id ORDER BY first_time)
), per_patient AS (
    SELECT patient_id, sum(readings)::bigint AS readings, sum(value_sum) AS value_sum,
           sum(value_sq_sum) AS value_sq_sum, sum(covered_s) + sum(last_span) AS covered_s,
           {ranges}
    FROM spans GROUP BY patient_id
)
SELECT c.*, p.* FROM (
    SELECT (SELECT count(*) FROM days) AS day_rows,
           (SELECT coalesce(sum(generation), 0) FROM days) AS day_rows_generations,
           (SELECT coalesce(sum(generation), 0) FROM glucose_day_generations
            WHERE patient_id = ANY(%(patients)s) AND day >= %(d0)s AND day < %(d1)s)
           AS day_generations,
           (SELECT count(*) FROM hours) AS hour_rows,
           (SELECT coalesce(sum(generation), 0) FROM hours) AS hour_rows_generations,
           (SELECT coalesce(sum(u.mark), 0)
            FROM glucose_day_generations g,
                 unnest(g.hour_generations) WITH ORDINALITY AS u(mark, i),
                 LATERAL (SELECT (g.day + (u.i - 1) * interval '1 hour')
                                 AT TIME ZONE 'UTC' AS hour) k
            WHERE g.patient_id = ANY(%(patients)s) AND g.day = ANY(%(hour_days)s)
              AND ((k.hour >= %(h0)s AND k.hour < %(h1)s)
                   OR (k.hour >= %(h2)s AND k.hour < %(h3)s))) AS hour_generations
) c
LEFT JOIN per_patient p ON true
"""

Found = tuple[int, int, int]
"""Rows found, the sum of their generations, the sum of the present generations."""


def _segments_sql(source: str) -> sql.Composed:
    ranges = sql.SQL(", ").join(
        sql.SQL(
            "coalesce(extract(epoch FROM sum(least(gap, %(cap)s)) FILTER (WHERE NOT last AND {})),"
            " 0)"
        ).format(range_test(r))
        for r in GLUCOSE_RANGES
    )
    return sql.SQL(_SEGMENTS).format(ranges=ranges, source=sql.SQL(source))


def _pad(spans: Sequence[Span], end: datetime) -> list[datetime]:
    """Two spans' four ends, an empty ``[end, end)`` standing in for a missing one."""
    out = [t for s in spans for t in s]
    return out + [end] * (4 - len(out))


def summaries(
    conn: Conn,
    *,
    patient_ids: list[UUID],
    days: tuple[date, date] | None,
    hours: Sequence[Span],
    live: Sequence[Span],
    end: datetime,
) -> tuple[list[dict[str, Any]], Found, Found]:
    """Each patient's sums over the stored ``days`` (first and last, inclusive) and ``hours``
    (at most two spans of whole UTC hours) and the ``live`` spans (at most two, each within
    one UTC hour) read from the readings now: ``patient_id``, ``readings``, ``value_sum``,
    ``value_sq_sum``, ``covered_s`` and the seconds per range key, for patients with
    readings; and, for the day rows and for the hour rows, what says whether all were found
    current (:data:`Found`)."""
    h0, h1, h2, h3 = _pad(hours, end)
    l0, l1, l2, l3 = _pad(live, end)
    live_source = (
        _SOURCE.format(bucket=_HOUR_OF) + " WHERE patient_id = ANY(%(patients)s)"
        " AND metric = %(metric)s"
        " AND ((time >= %(l0)s AND time < %(l1)s) OR (time >= %(l2)s AND time < %(l3)s))"
    )
    ranges = sql.SQL(", ").join(
        sql.SQL("sum(range_s[{}]) + coalesce(sum(last_span) FILTER (WHERE {}), 0) AS {}").format(
            sql.Literal(i + 1), range_test(r), sql.Identifier(r.key)
        )
        for i, r in enumerate(GLUCOSE_RANGES)
    )
    query = sql.SQL(_SUMMARIES).format(
        columns=sql.SQL(_COLUMNS), live=_segments_sql(live_source), ranges=ranges
    )
    # The whole days as [d0, d1); none: an empty span.
    d0, d1 = (days[0], days[1] + timedelta(days=1)) if days is not None else (date.min, date.min)
    hour_days = sorted({t.astimezone(UTC).date() for lo, hi in hours for t in (lo, hi - _HOUR)})
    params = {"patients": patient_ids, "metric": Metric.GLUCOSE.value,
              "cap": READING_SPAN_CAP, "cap_s": READING_SPAN_CAP.total_seconds(),
              "key": RANGES_KEY, "hash": RANGES_HASH, "d0": d0, "d1": d1,
              "h0": h0, "h1": h1, "h2": h2, "h3": h3, "hour_days": hour_days,
              "l0": l0, "l1": l1, "l2": l2, "l3": l3}  # fmt: skip
    with conn.cursor(row_factory=dict_row) as cur:
        # The segments' sort (some 40,000 rows for 1,000 patients) in memory, not on disk.
        cur.execute("SET LOCAL work_mem = '32MB'")
        rows = cur.execute(query, params).fetchall()
    counts = {k: int(v) for k, v in rows[0].items() if k in _FOUND}
    found = [{k: v for k, v in r.items() if k not in _FOUND} for r in rows if r["patient_id"]]
    day_found = (counts["day_rows"], counts["day_rows_generations"], counts["day_generations"])
    hour_found = (counts["hour_rows"], counts["hour_rows_generations"], counts["hour_generations"])
    return found, day_found, hour_found


_FOUND = {"day_rows", "day_rows_generations", "day_generations", "hour_rows",
          "hour_rows_generations", "hour_generations"}  # fmt: skip
_HOUR = timedelta(hours=1)


def current_days(
    conn: Conn, *, patient_ids: list[UUID], first: date, last: date
) -> set[tuple[UUID, date]]:
    """The (patient, day) keys from ``first`` to ``last`` (inclusive) with a current row:
    computed from the day's present generation with today's ranges."""
    return {
        (p, d)
        for p, d in conn.execute(
            "SELECT r.patient_id, r.day FROM glucose_day_rollups r"
            " LEFT JOIN glucose_day_generations g USING (patient_id, day)"
            " WHERE r.patient_id = ANY(%(patients)s) AND r.day BETWEEN %(first)s AND %(last)s"
            " AND r.generation = coalesce(g.generation, 0) AND r.ranges_key = %(key)s",
            {"patients": patient_ids, "first": first, "last": last, "key": RANGES_KEY},
        ).fetchall()
    }


def current_hours(
    conn: Conn, *, patient_ids: list[UUID], spans: Sequence[Span]
) -> set[tuple[UUID, datetime]]:
    """The (patient, hour) keys within ``spans`` with a current row: computed when its hour
    was last changed, with today's ranges."""
    out: set[tuple[UUID, datetime]] = set()
    for lo, hi in spans:
        out |= {
            (p, h)
            for p, h in conn.execute(
                "SELECT r.patient_id, r.hour FROM glucose_hour_rollups r"
                " LEFT JOIN glucose_day_generations g ON g.patient_id = r.patient_id"
                " AND g.day = (r.hour AT TIME ZONE 'UTC')::date"
                " WHERE r.patient_id = ANY(%(patients)s) AND r.hour >= %(lo)s"
                " AND r.hour < %(hi)s AND r.ranges_hash = %(hash)s AND r.generation = coalesce("
                "g.hour_generations[extract(hour FROM r.hour AT TIME ZONE 'UTC')::int + 1], 0)",
                {"patients": patient_ids, "lo": lo, "hi": hi, "hash": RANGES_HASH},
            ).fetchall()
        }
    return out


def _zeros() -> sql.Composable:
    return sql.SQL("ARRAY[{}]::float8[]").format(
        sql.SQL(", ").join(sql.Literal(0.0) for _ in GLUCOSE_RANGES)
    )


def fill_days(conn: Conn, *, patient_ids: list[UUID], days: list[date]) -> int:
    """Compute and store the rows of the (patient, day) pairs ``zip(patient_ids, days)``,
    each with the day's generation read in the same statement (a reading committed after it
    makes the row stale); returns how many."""
    source = (
        _SOURCE.format(bucket=_DAY_OF)
        + " JOIN unnest(%(pids)s::uuid[], %(keys)s::date[]) AS m(pid, d)"
        " ON patient_id = m.pid AND time >= m.d::timestamp AT TIME ZONE 'UTC'"
        " AND time < (m.d + 1)::timestamp AT TIME ZONE 'UTC'"
        " WHERE metric = %(metric)s"
    )
    query = sql.SQL(
        "INSERT INTO glucose_day_rollups AS t (patient_id, day, generation, ranges_key, {columns})"
        " SELECT m.pid, m.d, coalesce(g.generation, 0), %(key)s, coalesce(s.readings, 0),"
        " coalesce(s.value_sum, 0), coalesce(s.value_sq_sum, 0), coalesce(s.covered_s, 0),"
        " coalesce(s.range_s, {zeros}), s.first_time, s.last_time, s.last_value, s.last_back_s"
        " FROM unnest(%(pids)s::uuid[], %(keys)s::date[]) AS m(pid, d)"
        " LEFT JOIN glucose_day_generations g ON g.patient_id = m.pid AND g.day = m.d"
        " LEFT JOIN ({segments}) s ON s.patient_id = m.pid AND s.bucket = m.d"
        " ORDER BY m.pid, m.d"
        " ON CONFLICT (patient_id, day) DO UPDATE SET generation = excluded.generation,"
        " ranges_key = excluded.ranges_key, {updates}, computed_at = now()"
    ).format(
        columns=sql.SQL(_COLUMNS), zeros=_zeros(), segments=_segments_sql(source),
        updates=_updates(),
    )  # fmt: skip
    params = {"pids": patient_ids, "keys": days, "metric": Metric.GLUCOSE.value,
              "cap": READING_SPAN_CAP, "key": RANGES_KEY}  # fmt: skip
    return conn.execute(query, params).rowcount


def fill_hours(
    conn: Conn, *, patient_ids: list[UUID], hours: list[datetime], keep_from: datetime
) -> int:
    """As :func:`fill_days` for (patient, UTC hour) pairs, each with its hour's entry in the
    day's generations; and drop these patients' hour rows before ``keep_from`` (a cache of
    the partial days of recent periods, not a second copy of the readings)."""
    source = (
        _SOURCE.format(bucket=_HOUR_OF)
        + " JOIN unnest(%(pids)s::uuid[], %(keys)s::timestamptz[]) AS m(pid, h)"
        " ON patient_id = m.pid AND time >= m.h AND time < m.h + interval '1 hour'"
        " WHERE metric = %(metric)s"
    )
    query = sql.SQL(
        "INSERT INTO glucose_hour_rollups AS t (patient_id, hour, generation, ranges_hash,"
        " {columns})"
        " SELECT m.pid, m.h, coalesce("
        "g.hour_generations[extract(hour FROM m.h AT TIME ZONE 'UTC')::int + 1], 0),"
        " %(hash)s, coalesce(s.readings, 0), coalesce(s.value_sum, 0),"
        " coalesce(s.value_sq_sum, 0), coalesce(s.covered_s, 0), coalesce(s.range_s, {zeros}),"
        " s.first_time, s.last_time, s.last_value, s.last_back_s"
        " FROM unnest(%(pids)s::uuid[], %(keys)s::timestamptz[]) AS m(pid, h)"
        " LEFT JOIN glucose_day_generations g"
        " ON g.patient_id = m.pid AND g.day = (m.h AT TIME ZONE 'UTC')::date"
        " LEFT JOIN ({segments}) s ON s.patient_id = m.pid AND s.bucket = m.h"
        " ORDER BY m.pid, m.h"
        " ON CONFLICT (patient_id, hour) DO UPDATE SET generation = excluded.generation,"
        " ranges_hash = excluded.ranges_hash, {updates}"
    ).format(
        columns=sql.SQL(_COLUMNS), zeros=_zeros(), segments=_segments_sql(source),
        updates=_updates(),
    )  # fmt: skip
    params = {"pids": patient_ids, "keys": hours, "metric": Metric.GLUCOSE.value,
              "cap": READING_SPAN_CAP, "hash": RANGES_HASH}  # fmt: skip
    stored = conn.execute(query, params).rowcount
    conn.execute(
        "DELETE FROM glucose_hour_rollups WHERE patient_id = ANY(%s) AND hour < %s",
        (sorted(set(patient_ids)), keep_from),
    )
    return stored


def _updates() -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c.strip())) for c in _COLUMNS.split(",")
    )
