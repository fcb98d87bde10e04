"""SQL of the AGP: a patient's CGM time in ranges, its 24-hour percentiles, its days and its
lows, computed in the database (one patient's 14 days is 4,032 rows: window functions,
``percentile_cont`` and ``time_bucket`` over the readings' patient index)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from vigil.clinical.glycaemia import GLUCOSE_RANGES, READING_SPAN_CAP, GlucoseRange
from vigil.core.metrics import Metric

Conn = psycopg.Connection[Any]

# Each reading with the time it stands for: until the next reading, capped (a gap in wear is
# no time), the last one as long as the gap before it.
_SPANS = """
SELECT patient_id, time, value,
       least(coalesce(lead(time) OVER w - time, time - lag(time) OVER w, %(cap)s), %(cap)s)
       AS span
FROM readings
WHERE patient_id = ANY(%(patients)s) AND metric = %(metric)s
  AND time >= %(start)s AND time < %(end)s
WINDOW w AS (PARTITION BY patient_id ORDER BY time)
"""


def range_test(r: GlucoseRange) -> sql.Composable:
    """The range's test on ``value``, its ends included or not as the vocabulary says."""
    parts: list[sql.Composable] = [sql.SQL("true")]
    if r.low is not None:
        op = ">=" if r.includes_low else ">"
        parts.append(sql.SQL("value {} {}").format(sql.SQL(op), sql.Literal(r.low)))
    if r.high is not None:
        op = "<=" if r.includes_high else "<"
        parts.append(sql.SQL("value {} {}").format(sql.SQL(op), sql.Literal(r.high)))
    return sql.SQL(" AND ").join(parts)


def _summary_sql() -> sql.Composed:
    shares = sql.SQL(", ").join(
        sql.SQL("extract(epoch FROM coalesce(sum(span) FILTER (WHERE {}), '0s')) AS {}").format(
            range_test(r), sql.Identifier(r.key)
        )
        for r in GLUCOSE_RANGES
    )
    return sql.SQL(
        "SELECT count(*) AS readings, avg(value) AS mean, stddev_samp(value) AS sd,"
        " extract(epoch FROM coalesce(sum(span), '0s')) AS covered_s, {} FROM ({}) r"
    ).format(shares, sql.SQL(_SPANS))


def _params(patient_id: UUID, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "patient": patient_id,
        "patients": [patient_id],
        "metric": Metric.GLUCOSE.value,
        "start": start,
        "end": end,
        "cap": READING_SPAN_CAP,
    }


def glucose_summary(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime
) -> dict[str, Any]:
    """Count, mean and sample SD of the readings; seconds of wear, and per range key the
    seconds spent in it."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_summary_sql(), _params(patient_id, start, end)).fetchone()
    assert row is not None
    return row


def glucose_profile(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> list[dict[str, Any]]:
    """Per 15 minutes of the day in ``time_zone`` (minute 0, 15, ... 1425) with readings: the
    5th, 25th, 50th, 75th and 95th percentiles (interpolated: ``percentile_cont``)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT (extract(hour FROM t) * 60 + floor(extract(minute FROM t) / 15) * 15)::int"
            " AS minute, percentile_cont(ARRAY[0.05, 0.25, 0.5, 0.75, 0.95])"
            " WITHIN GROUP (ORDER BY value) AS p FROM (SELECT time AT TIME ZONE %(tz)s AS t,"
            " value FROM readings WHERE patient_id = %(patient)s AND metric = %(metric)s"
            " AND time >= %(start)s AND time < %(end)s) r GROUP BY 1 ORDER BY 1",
            _params(patient_id, start, end) | {"tz": time_zone},
        ).fetchall()


def glucose_days(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> list[dict[str, Any]]:
    """Each day (in ``time_zone``) as 15-minute means (``time_bucket`` in the zone) for the
    small multiples: ``{"day", "minute", "value", "readings"}`` rows in time order."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT (b AT TIME ZONE %(tz)s)::date AS day,"
            " (extract(hour FROM b AT TIME ZONE %(tz)s) * 60"
            " + extract(minute FROM b AT TIME ZONE %(tz)s))::int AS minute,"
            " avg(value) AS value, count(*) AS readings FROM (SELECT time_bucket("
            "'15 minutes'::interval, time, %(tz)s) AS b, value FROM readings"
            " WHERE patient_id = %(patient)s AND metric = %(metric)s AND time >= %(start)s"
            " AND time < %(end)s) r GROUP BY b ORDER BY b",
            _params(patient_id, start, end) | {"tz": time_zone},
        ).fetchall()


def glucose_lows(
    conn: Conn,
    *,
    patient_id: UUID,
    start: datetime,
    end: datetime,
    limits: tuple[float, ...],
    min_length: timedelta,
) -> list[dict[str, Any]]:
    """Runs of consecutive readings under each limit lasting ``min_length`` or more (from the
    first reading under it to the end of the last one's span): ``{"below", "start", "end",
    "nadir"}`` in time order."""
    query = sql.SQL(
        "WITH r AS ({}), lim AS (SELECT unnest(%(limits)s::float8[]) AS below),"
        " flagged AS (SELECT lim.below, r.*, r.value < lim.below AS low,"
        " row_number() OVER (PARTITION BY lim.below ORDER BY time)"
        " - row_number() OVER (PARTITION BY lim.below, r.value < lim.below ORDER BY time) AS grp"
        " FROM r CROSS JOIN lim)"
        " SELECT below, min(time) AS start, max(time + span) AS end, min(value) AS nadir"
        " FROM flagged WHERE low GROUP BY below, grp"
        " HAVING max(time + span) - min(time) >= %(min)s ORDER BY start, below DESC"
    ).format(sql.SQL(_SPANS))
    params = _params(patient_id, start, end) | {"limits": list(limits), "min": min_length}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()
