"""SQL for patients, care plans, readings and rollups, the dashboard list and reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil.alerts import Outcome
from vigil.alerts.urgency import urgency_order
from vigil.api.access import VISIBLE_PATIENTS_SQL, Principal, scope_params
from vigil.api.repo import Conn
from vigil.clinical.findings import Severity
from vigil.core.errors import NotFound
from vigil.core.metrics import NOT_VITALS, SPECS, Metric

PATIENT_COLUMNS = (
    "id, display_name, conditions, created_at, discharged_at, birth_date, record_number"
)


def list_patients(
    conn: Conn, *, principal: Principal, limit: int, offset: int, discharged: bool = False
) -> list[dict[str, Any]]:
    """The visible patients under monitoring, and discharged ones too when ``discharged``."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(
                "SELECT {} FROM patients WHERE id IN ({})"
                " AND (%(discharged)s OR discharged_at IS NULL)"
                " ORDER BY created_at, id LIMIT %(limit)s OFFSET %(offset)s"
            ).format(sql.SQL(PATIENT_COLUMNS), VISIBLE_PATIENTS_SQL),
            {**scope_params(principal), "limit": limit, "offset": offset, "discharged": discharged},
        ).fetchall()


def get_patient(conn: Conn, *, patient_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            sql.SQL("SELECT {} FROM patients WHERE id = %s").format(sql.SQL(PATIENT_COLUMNS)),
            (patient_id,),
        ).fetchone()
    if row is None:
        raise NotFound(f"no patient {patient_id}")
    return row


def update_patient(
    conn: Conn,
    *,
    patient_id: UUID,
    display_name: str | None,
    conditions: list[str] | None,
    birth_date: date | None = None,
    record_number: str | None = None,
) -> dict[str, Any]:
    conn.execute(
        "UPDATE patients SET display_name = coalesce(%s, display_name),"
        " conditions = coalesce(%s, conditions), birth_date = coalesce(%s, birth_date),"
        " record_number = coalesce(%s, record_number) WHERE id = %s",
        (display_name, conditions, birth_date, record_number, patient_id),
    )
    return get_patient(conn, patient_id=patient_id)


def get_care_plan(conn: Conn, *, patient_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT patient_id, targets, thresholds, insulin, updated_at, updated_by"
            " FROM care_plans"
            " WHERE patient_id = %s",
            (patient_id,),
        ).fetchone()
    return row or {"patient_id": patient_id, "targets": {}, "thresholds": {}, "insulin": {}}


def put_care_plan(
    conn: Conn,
    *,
    patient_id: UUID,
    targets: dict[str, Any],
    thresholds: dict[str, Any],
    user_id: UUID,
    insulin: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Targets and thresholds replace the stored ones; ``insulin`` None keeps the stored
    settings (an editor of thresholds does not wipe a pump user's settings)."""
    conn.execute(
        "INSERT INTO care_plans (patient_id, targets, thresholds, insulin, updated_by)"
        " VALUES (%s, %s, %s, coalesce(%s, '{}'::jsonb), %s) ON CONFLICT (patient_id) DO UPDATE"
        " SET targets = excluded.targets, thresholds = excluded.thresholds,"
        " insulin = coalesce(%s, care_plans.insulin),"
        " updated_by = excluded.updated_by, updated_at = now()",
        (
            patient_id,
            Jsonb(targets),
            Jsonb(thresholds),
            None if insulin is None else Jsonb(insulin),
            user_id,
            None if insulin is None else Jsonb(insulin),
        ),
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
            "SELECT time, metric, value, unit, device_id, censored FROM readings"
            " WHERE patient_id = %s AND (%s::text IS NULL OR metric = %s)"
            " AND time >= %s AND time < %s ORDER BY time DESC LIMIT %s",
            (patient_id, metric, metric, start, end, limit),
        ).fetchall()


JsonQuery = tuple[sql.Composable, dict[str, Any]]
"""A statement whose one row's one column is a response body, as JSON text (built by
PostgreSQL: these responses are mostly rows, and decoding then re-encoding them in Python cost
more than the query), with its parameters."""


def rollup_query(
    *,
    patient_id: UUID,
    metric: Metric,
    bucket: timedelta,
    bucket_name: str,
    start: datetime,
    end: datetime,
) -> JsonQuery:
    """A RollupPublic: min / avg / max / count per ``time_bucket``, and how many of the
    bucket's readings were the device's LOW / HIGH marks (stored at the bound)."""
    query = sql.SQL(
        "SELECT json_build_object('metric', %(metric)s::text, 'unit', %(unit)s::text,"
        " 'bucket', %(name)s::text, 'buckets', coalesce(json_agg(b ORDER BY b.bucket), '[]'))"
        "::text FROM (SELECT time_bucket(%(bucket)s, time) AS bucket, min(value) AS min,"
        " avg(value) AS avg, max(value) AS max, count(*) AS count,"
        " count(*) FILTER (WHERE censored = 'below') AS low,"
        " count(*) FILTER (WHERE censored = 'above') AS high FROM readings"
        " WHERE patient_id = %(patient)s AND metric = %(metric)s AND time >= %(start)s"
        " AND time < %(end)s GROUP BY 1) b"
    )
    return query, {
        "metric": metric.value,
        "unit": unit_of(metric),
        "name": bucket_name,
        "bucket": bucket,
        "patient": patient_id,
        "start": start,
        "end": end,
    }


TEAM_LIST_CAP = 2000
"""The most patients a team list carries (the triage page pages through any number)."""


def latest_vitals_query(*, team_id: UUID, since: datetime) -> JsonQuery:
    """Every patient of a care team with the latest reading of each metric, as a JSON array
    of PatientVitals."""
    query = sql.SQL(
        "SELECT coalesce(json_agg(v ORDER BY v.display_name, v.patient_id), '[]')::text FROM ("
        "SELECT p.id AS patient_id, p.display_name,"
        " (SELECT count(*) FROM alerts a WHERE a.patient_id = p.id"
        "   AND a.state <> 'resolved') AS open_alerts,"
        # json_agg of rows, not json(b)_build_object per row: half the query's time went to
        # the latter's per-call type lookups.
        " coalesce((SELECT json_agg(x ORDER BY x.metric) FROM ("
        "  SELECT l.metric, l.time, l.value, l.unit, l.censored FROM latest_readings l"
        "  WHERE l.patient_id = p.id AND l.metric = ANY(%(metrics)s) AND l.time >= %(since)s) x),"
        "  '[]'::json) AS vitals"
        " FROM care_team_patients ctp JOIN patients p ON p.id = ctp.patient_id"
        " WHERE ctp.team_id = %(team)s ORDER BY p.display_name, p.id LIMIT %(cap)s) v"
    )
    # Vitals only: a bolus, a meal or a step count is not a measurement, and its freshness
    # would keep a patient who stopped measuring out of the list's "not measuring" group.
    vitals = [m.value for m in Metric if m not in NOT_VITALS]
    params = {"metrics": vitals, "since": since, "team": team_id}
    return query, {**params, "cap": TEAM_LIST_CAP}


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


def severity_name(alias: str) -> sql.Composable:
    """SQL naming an alert's severity (``critical``, ``high``, ...) from the vocabulary's
    :class:`~vigil.clinical.Severity`, not from numbers written here."""
    levels = sorted(Severity, reverse=True)
    whens = sql.SQL(" ").join(
        sql.SQL("WHEN {}.severity >= {} THEN {}").format(
            sql.Identifier(alias), sql.Literal(int(s)), sql.Literal(s.name.lower())
        )
        for s in levels[:-1]
    )
    return sql.SQL("CASE {} ELSE {} END").format(whens, sql.Literal(levels[-1].name.lower()))


_ALERT_FIELDS = [
    "id",
    "patient_id",
    "episode",
    "cause",
    "causes",
    "worst_value",
    "metrics",
    "detector",
    "state",
    "score",
    "finding_count",
    "first_seen",
    "last_seen",
    "last_value",
    "explanation",
    "data_age_s",
    "opened_at",
    "updated_at",
    "acknowledged_at",
    "acknowledged_by",
    "snoozed_until",
    "resolved_at",
    "resolved_by",
    "outcome",
    "escalation_level",
    "assigned_to",
]
_ALERT_JSON = sql.SQL(
    "json_build_object({fields}, 'opened', a.readings -> 'opened',"
    " 'latest', a.readings -> 'latest', 'worst', a.readings -> 'worst',"
    " 'patient_name', (SELECT p.display_name FROM patients p"
    " WHERE p.id = a.patient_id), 'severity', {severity})"
).format(
    fields=sql.SQL(", ").join(
        sql.SQL("{}, a.{}").format(sql.Literal(f), sql.Identifier(f)) for f in _ALERT_FIELDS
    ),
    severity=severity_name("a"),
)


def alerts_inbox_query(
    *,
    principal: Principal,
    states: list[str],
    severities: list[int],
    patient_id: UUID | None,
    limit: int,
    offset: int,
    ended_since: datetime | None = None,
) -> JsonQuery:
    """The inbox as a JSON array of AlertPublic: visible alerts, most severe and most
    recently changed first, in the clinical urgency order (vigil.alerts.urgency); with
    ``ended_since``, also the alerts the system resolved since then (episode ended)."""
    query = sql.SQL(
        "SELECT coalesce(json_agg({obj} ORDER BY {order}),"
        " '[]')::text FROM (SELECT * FROM alerts a WHERE a.tenant_id = %(tenant)s"
        " AND a.patient_id IN ({visible})"
        " AND (a.state = ANY(%(states)s) OR (a.outcome = %(ended)s"
        "  AND a.resolved_at >= %(ended_since)s))"
        " AND (cardinality(%(severities)s::smallint[]) = 0"
        "  OR a.severity = ANY(%(severities)s::smallint[]))"
        " AND (%(patient)s::uuid IS NULL OR a.patient_id = %(patient)s)"
        " ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s"
        ") a"
    ).format(obj=_ALERT_JSON, order=urgency_order("a"), visible=VISIBLE_PATIENTS_SQL)
    return query, {
        **scope_params(principal),
        "states": states,
        "severities": severities,
        "patient": patient_id,
        "limit": limit,
        "offset": offset,
        "ended": Outcome.EPISODE_ENDED.value,
        "ended_since": ended_since,
    }
