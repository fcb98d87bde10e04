"""SQL of the clinic list's day rollups (migration 0111): each patient's CGM per UTC day as
segments (count, sum, sum of squares, the time-weighted seconds of every reading but the
last, in all and per range; the first and last reading), read when still current, computed
and stored when missing or stale, and computed live for the period's partial days."""

from __future__ import annotations

from datetime import date, datetime
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

_SOURCE = "SELECT patient_id, (time AT TIME ZONE 'UTC')::date AS day, time, value FROM readings"

# Within a (patient, day) segment each reading but the last stands for the time to the next
# one, capped, exactly as the AGP's spans; the last one's span is joined in Python (it
# reaches into the next segment with readings, or, at the period's end, back to the one
# before it).
_SEGMENTS = """
SELECT patient_id, day, count(*) AS readings, sum(value) AS value_sum,
       sum(value * value) AS value_sq_sum,
       coalesce(extract(epoch FROM sum(least(gap, %(cap)s)) FILTER (WHERE NOT last)), 0)
       AS covered_s,
       ARRAY[{ranges}]::float8[] AS range_s,
       min(time) AS first_time, max(time) AS last_time,
       max(value) FILTER (WHERE last) AS last_value,
       max(extract(epoch FROM back)) FILTER (WHERE last) AS last_back_s
FROM (SELECT patient_id, day, time, value, lead(time) OVER w - time AS gap,
             time - lag(time) OVER w AS back, lead(time) OVER w IS NULL AS last
      FROM ({source}) src
      WINDOW w AS (PARTITION BY patient_id, day ORDER BY time)) r
GROUP BY patient_id, day
"""


def _segments_sql(source: str) -> sql.Composed:
    ranges = sql.SQL(", ").join(
        sql.SQL(
            "coalesce(extract(epoch FROM sum(least(gap, %(cap)s)) FILTER (WHERE NOT last AND {})),"
            " 0)"
        ).format(range_test(r))
        for r in GLUCOSE_RANGES
    )
    return sql.SQL(_SEGMENTS).format(ranges=ranges, source=sql.SQL(source))


def live_segments(
    conn: Conn,
    *,
    patient_ids: list[UUID],
    head: tuple[datetime, datetime],
    tail: tuple[datetime, datetime],
) -> list[dict[str, Any]]:
    """The segments of the readings in ``head`` and ``tail`` (each within one UTC day),
    computed from the readings now."""
    source = (
        _SOURCE + " WHERE patient_id = ANY(%(patients)s) AND metric = %(metric)s"
        " AND ((time >= %(h0)s AND time < %(h1)s) OR (time >= %(t0)s AND time < %(t1)s))"
    )
    params = {"patients": patient_ids, "metric": Metric.GLUCOSE.value, "cap": READING_SPAN_CAP,
              "h0": head[0], "h1": head[1], "t0": tail[0], "t1": tail[1]}  # fmt: skip
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_segments_sql(source), params).fetchall()


def current_rollups(
    conn: Conn, *, patient_ids: list[UUID], first: date, last: date
) -> list[dict[str, Any]]:
    """The stored day rows from ``first`` to ``last`` (inclusive) still current: computed
    from the day's present generation with today's ranges."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT r.* FROM glucose_day_rollups r LEFT JOIN glucose_day_generations g"
            " USING (patient_id, day) WHERE r.patient_id = ANY(%(patients)s)"
            " AND r.day BETWEEN %(first)s AND %(last)s"
            " AND r.generation = coalesce(g.generation, 0) AND r.ranges_key = %(key)s",
            {"patients": patient_ids, "first": first, "last": last, "key": RANGES_KEY},
        ).fetchall()


def fill_rollups(conn: Conn, *, patient_ids: list[UUID], days: list[date]) -> list[dict[str, Any]]:
    """Compute and store the rows of the (patient, day) pairs ``zip(patient_ids, days)``,
    each with the generation read in the same statement (a reading committed after it makes
    the row stale); returns them."""
    source = (
        _SOURCE + " JOIN unnest(%(pids)s::uuid[], %(days)s::date[]) AS m(pid, d)"
        " ON patient_id = m.pid AND time >= m.d::timestamp AT TIME ZONE 'UTC'"
        " AND time < (m.d + 1)::timestamp AT TIME ZONE 'UTC'"
        " WHERE metric = %(metric)s"
    )
    zeros = sql.SQL("ARRAY[{}]::float8[]").format(
        sql.SQL(", ").join(sql.Literal(0.0) for _ in GLUCOSE_RANGES)
    )
    query = sql.SQL(
        "INSERT INTO glucose_day_rollups AS t (patient_id, day, generation, ranges_key,"
        " readings, value_sum, value_sq_sum, covered_s, range_s, first_time, last_time,"
        " last_value, last_back_s)"
        " SELECT m.pid, m.d, coalesce(g.generation, 0), %(key)s, coalesce(s.readings, 0),"
        " coalesce(s.value_sum, 0), coalesce(s.value_sq_sum, 0), coalesce(s.covered_s, 0),"
        " coalesce(s.range_s, {zeros}), s.first_time, s.last_time, s.last_value, s.last_back_s"
        " FROM unnest(%(pids)s::uuid[], %(days)s::date[]) AS m(pid, d)"
        " LEFT JOIN glucose_day_generations g ON g.patient_id = m.pid AND g.day = m.d"
        " LEFT JOIN ({segments}) s ON s.patient_id = m.pid AND s.day = m.d"
        " ON CONFLICT (patient_id, day) DO UPDATE SET generation = excluded.generation,"
        " ranges_key = excluded.ranges_key, readings = excluded.readings,"
        " value_sum = excluded.value_sum, value_sq_sum = excluded.value_sq_sum,"
        " covered_s = excluded.covered_s, range_s = excluded.range_s,"
        " first_time = excluded.first_time, last_time = excluded.last_time,"
        " last_value = excluded.last_value, last_back_s = excluded.last_back_s,"
        " computed_at = now()"
        " RETURNING t.*"
    ).format(zeros=zeros, segments=_segments_sql(source))
    params = {"pids": patient_ids, "days": days, "metric": Metric.GLUCOSE.value,
              "cap": READING_SPAN_CAP, "key": RANGES_KEY}  # fmt: skip
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()
