"""SQL for patients, care plans, readings and rollups, the dashboard list and reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil.alerts import ALERT_COLUMNS
from vigil.api.access import VISIBLE_PATIENTS_SQL, Principal, scope_params
from vigil.api.repo import Conn
from vigil.core.errors import NotFound
from vigil.core.metrics import SPECS, Metric

PATIENT_COLUMNS = "id, display_name, conditions, created_at"


def list_patients(
    conn: Conn, *, principal: Principal, limit: int, offset: int
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(
                "SELECT id, display_name, conditions, created_at FROM patients"
                " WHERE id IN ({}) ORDER BY created_at, id LIMIT %(limit)s OFFSET %(offset)s"
            ).format(VISIBLE_PATIENTS_SQL),
            {**scope_params(principal), "limit": limit, "offset": offset},
        ).fetchall()


def get_patient(conn: Conn, *, patient_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT id, display_name, conditions, created_at FROM patients WHERE id = %s",
            (patient_id,),
        ).fetchone()
    if row is None:
        raise NotFound(f"no patient {patient_id}")
    return row


def update_patient(
    conn: Conn, *, patient_id: UUID, display_name: str | None, conditions: list[str] | None
) -> dict[str, Any]:
    conn.execute(
        "UPDATE patients SET display_name = coalesce(%s, display_name),"
        " conditions = coalesce(%s, conditions) WHERE id = %s",
        (display_name, conditions, patient_id),
    )
    return get_patient(conn, patient_id=patient_id)


def get_care_plan(conn: Conn, *, patient_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT patient_id, targets, thresholds, updated_at, updated_by FROM care_plans"
            " WHERE patient_id = %s",
            (patient_id,),
        ).fetchone()
    return row or {"patient_id": patient_id, "targets": {}, "thresholds": {}}


def put_care_plan(
    conn: Conn,
    *,
    patient_id: UUID,
    targets: dict[str, Any],
    thresholds: dict[str, Any],
    user_id: UUID,
) -> dict[str, Any]:
    conn.execute(
        "INSERT INTO care_plans (patient_id, targets, thresholds, updated_by)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (patient_id) DO UPDATE SET"
        " targets = excluded.targets, thresholds = excluded.thresholds,"
        " updated_by = excluded.updated_by, updated_at = now()",
        (patient_id, Jsonb(targets), Jsonb(thresholds), user_id),
    )
    return get_care_plan(conn, patient_id=patient_id)


def raw_readings(
    conn: Conn,
    *,
    patient_id: UUID,
    metric: Metric | None,
    start: datetime,
    end: datetime,
    limit: int,
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT time, metric, value, unit, device_id FROM readings"
            " WHERE patient_id = %s AND (%s::text IS NULL OR metric = %s)"
            " AND time >= %s AND time < %s ORDER BY time DESC LIMIT %s",
            (patient_id, metric, metric, start, end, limit),
        ).fetchall()


def rollup(
    conn: Conn,
    *,
    patient_id: UUID,
    metric: Metric,
    bucket: timedelta,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT time_bucket(%s, time) AS bucket, min(value) AS min, avg(value) AS avg,"
            " max(value) AS max, count(*) AS count FROM readings"
            " WHERE patient_id = %s AND metric = %s AND time >= %s AND time < %s"
            " GROUP BY 1 ORDER BY 1",
            (bucket, patient_id, metric.value, start, end),
        ).fetchall()


def latest_vitals(conn: Conn, *, team_id: UUID, since: datetime) -> list[dict[str, Any]]:
    """Every patient of a care team with the latest reading of each metric (one query)."""
    metrics = [m.value for m in Metric]
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT p.id AS patient_id, p.display_name,"
            " (SELECT count(*) FROM alerts a WHERE a.patient_id = p.id"
            "   AND a.state <> 'resolved') AS open_alerts,"
            " coalesce((SELECT jsonb_agg(jsonb_build_object("
            "   'metric', m.metric, 'time', r.time, 'value', r.value, 'unit', r.unit)"
            "   ORDER BY m.metric)"
            "  FROM unnest(%s::text[]) AS m(metric)"
            "  CROSS JOIN LATERAL (SELECT time, value, unit FROM readings"
            "   WHERE patient_id = p.id AND metric = m.metric AND time >= %s"
            "   ORDER BY time DESC LIMIT 1) r), '[]'::jsonb) AS vitals"
            " FROM care_team_patients ctp JOIN patients p ON p.id = ctp.patient_id"
            " WHERE ctp.team_id = %s ORDER BY p.display_name, p.id",
            (metrics, since, team_id),
        ).fetchall()


def burden(conn: Conn, *, tenant_id: UUID, since: datetime, by: str) -> list[dict[str, Any]]:
    """Alerts per patient-week and the actionable share, per rule or per patient."""
    key = sql.SQL("a.cause" if by == "rule" else "a.patient_id::text")
    query = sql.SQL(
        "WITH scope AS (SELECT count(*) AS patients FROM patients WHERE tenant_id = %(tenant)s)"
        " SELECT {key} AS key, count(*) AS alerts,"
        " count(*) FILTER (WHERE a.outcome IS NOT NULL) AS resolved,"
        " count(*) FILTER (WHERE a.outcome = 'actionable') AS actionable,"
        " CASE WHEN %(by)s = 'rule' THEN max(scope.patients) ELSE 1 END"
        "  * extract(epoch FROM now() - %(since)s) / 604800.0 AS patient_weeks"
        " FROM alerts a, scope WHERE a.tenant_id = %(tenant)s AND a.opened_at >= %(since)s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 500"
    ).format(key=key)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"tenant": tenant_id, "since": since, "by": by}).fetchall()


def unit_of(metric: Metric) -> str:
    return SPECS[metric].ucum


def list_alerts(
    conn: Conn,
    *,
    principal: Principal,
    states: list[str],
    severities: list[int],
    patient_id: UUID | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """The inbox: visible alerts, most severe and most recently changed first."""
    query = sql.SQL(
        "SELECT {cols} FROM alerts a WHERE a.tenant_id = %(tenant)s"
        " AND (%(admin)s OR a.patient_id IN (SELECT ctp.patient_id FROM care_team_patients ctp"
        "  JOIN care_team_members m ON m.team_id = ctp.team_id WHERE m.user_id = %(user)s))"
        " AND a.state = ANY(%(states)s)"
        " AND (cardinality(%(severities)s::smallint[]) = 0"
        "  OR a.severity = ANY(%(severities)s::smallint[]))"
        " AND (%(patient)s::uuid IS NULL OR a.patient_id = %(patient)s)"
        " ORDER BY a.severity DESC, a.updated_at DESC, a.id LIMIT %(limit)s OFFSET %(offset)s"
    ).format(cols=ALERT_COLUMNS)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            query,
            {
                **scope_params(principal),
                "states": states,
                "severities": severities,
                "patient": patient_id,
                "limit": limit,
                "offset": offset,
            },
        ).fetchall()
