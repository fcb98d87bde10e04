"""SQL of the triage view: one pass over each visible patient's last 14 days."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from vigil.alerts.urgency import urgency_order
from vigil.api.access import VISIBLE_PATIENTS_SQL, Principal, scope_params
from vigil.clinical.findings import Severity

Conn = psycopg.Connection[Any]

TRIAGE_SQL = sql.SQL(
    """
WITH vis AS ({visible}),
g AS (
  SELECT * FROM unnest(%(gpatients)s::uuid[], %(glows)s::float8[], %(ghighs)s::float8[])
    AS g(patient_id, low, high)),
r AS (
  SELECT rd.patient_id,
    count(*) FILTER (WHERE metric = 'glucose') AS glucose_n,
    count(*) FILTER (WHERE metric = 'glucose'
      AND value < coalesce(g.low, %(glow)s)) AS glucose_below,
    count(*) FILTER (WHERE metric = 'glucose'
      AND value BETWEEN coalesce(g.low, %(glow)s) AND coalesce(g.high, %(ghigh)s))
      AS glucose_in,
    count(*) FILTER (WHERE metric = 'bp_systolic') AS bp_n,
    avg(value) FILTER (WHERE metric = 'bp_systolic') AS systolic_avg,
    avg(value) FILTER (WHERE metric = 'bp_diastolic') AS diastolic_avg,
    avg(value) FILTER (WHERE metric = 'body_weight' AND time >= %(week)s)
      - avg(value) FILTER (WHERE metric = 'body_weight' AND time < %(week)s) AS weight_change,
    max(time) AS last_reading
  FROM readings rd LEFT JOIN g ON g.patient_id = rd.patient_id
  WHERE rd.patient_id IN (SELECT id FROM vis) AND time >= %(since)s AND time <= %(now)s
  GROUP BY rd.patient_id),
a AS (
  SELECT patient_id,
    count(*) FILTER (WHERE severity >= %(critical)s) AS critical_alerts,
    count(*) AS open_alerts
  FROM alerts
  WHERE patient_id IN (SELECT id FROM vis) AND state IN ('open', 'acknowledged')
  GROUP BY patient_id)
SELECT p.id, p.display_name, p.conditions, cp.targets,
  top.cause AS top_cause, top.severity AS top_severity,
  coalesce(top.metrics, ARRAY[]::text[]) AS top_metrics,
  coalesce(top.worst_value, top.last_value) AS top_value,
  coalesce(top.readings -> 'worst', top.readings -> 'latest') AS top_reading,
  coalesce(a.critical_alerts, 0) AS critical_alerts, coalesce(a.open_alerts, 0) AS open_alerts,
  r.glucose_n, r.glucose_below, r.glucose_in, r.bp_n, r.systolic_avg, r.diastolic_avg,
  r.weight_change, r.last_reading
FROM patients p
LEFT JOIN r ON r.patient_id = p.id
LEFT JOIN a ON a.patient_id = p.id
LEFT JOIN care_plans cp ON cp.patient_id = p.id
LEFT JOIN LATERAL (
  SELECT * FROM alerts x WHERE x.patient_id = p.id AND x.state IN ('open', 'acknowledged')
  ORDER BY {order} LIMIT 1) top ON true
WHERE p.id IN (SELECT id FROM vis) AND p.discharged_at IS NULL
"""
)


def triage_rows(
    conn: Conn,
    *,
    principal: Principal,
    now: datetime,
    since: datetime,
    week: datetime,
    glucose_low: float,
    glucose_high: float,
    glucose_ranges: dict[UUID, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """Per visible patient: open (critical) alerts and the aggregates the groups need, time
    in and below range counted against each patient's own glucose target (``glucose_ranges``;
    the defaults for the others). The readings scan is bounded by patient and time, which
    the readings index serves."""
    ranges = glucose_ranges or {}
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            TRIAGE_SQL.format(visible=VISIBLE_PATIENTS_SQL, order=urgency_order("x")),
            {
                **scope_params(principal),
                "now": now,
                "since": since,
                "week": week,
                "glow": glucose_low,
                "ghigh": glucose_high,
                "gpatients": list(ranges),
                "glows": [low for low, _ in ranges.values()],
                "ghighs": [high for _, high in ranges.values()],
                "critical": int(Severity.CRITICAL),
            },
        ).fetchall()


def visible_plans(conn: Conn, *, principal: Principal) -> list[dict[str, Any]]:
    """Each visible patient's conditions and stored care-plan targets."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(
                "SELECT p.id, p.conditions, cp.targets FROM patients p"
                " LEFT JOIN care_plans cp ON cp.patient_id = p.id"
                " WHERE p.id IN ({}) AND p.discharged_at IS NULL"
            ).format(VISIBLE_PATIENTS_SQL),
            scope_params(principal),
        ).fetchall()


def daily_averages(
    conn: Conn, *, patient_ids: list[UUID], since: datetime
) -> dict[UUID, dict[str, list[float]]]:
    """Each patient's daily average per metric since ``since``, oldest first (sparklines of
    one page of patients, so the scan stays bounded)."""
    rows = conn.execute(
        "SELECT patient_id, metric, avg(value) FROM readings"
        " WHERE patient_id = ANY(%s) AND time >= %s"
        " GROUP BY patient_id, metric, date_trunc('day', time)"
        " ORDER BY patient_id, metric, date_trunc('day', time)",
        (patient_ids, since),
    ).fetchall()
    out: dict[UUID, dict[str, list[float]]] = {}
    for pid, metric, value in rows:
        out.setdefault(pid, {}).setdefault(metric, []).append(round(float(value), 1))
    return out
