"""The FHIR read side's SQL: readings grouped into Observations, devices, alerts, service
accounts. Plain functions, keyword-only arguments, a connection first; the caller has checked
that the patient is one the principal may see (or passes the scope in)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from vigil.api.access import Principal, Role, patient_visible, scope_params
from vigil.clinical.fhir_profiles import (
    BP_COMPONENTS,
    CGM_DEVICE_KINDS,
    KINDS,
    NOT_EXPORTED,
    ObservationKind,
    observation_kind,
)
from vigil.core.metrics import Metric
from vigil.fhir import DeviceRow, ObservationRow, PatientRow

Conn = psycopg.Connection[Any]

Cursor = tuple[datetime, str, str]
"""Where a page ended: (time, device id, group) of its last Observation, newest first."""

_PANEL = "panel"

_OBSERVATIONS = sql.SQL(
    "SELECT time, device_id, device_kind, grp, values, censored FROM ("
    " SELECT r.time, r.device_id, d.kind AS device_kind,"
    "  CASE WHEN r.metric = ANY(%(panel)s) THEN %(panel_key)s ELSE r.metric END AS grp,"
    "  json_object_agg(r.metric, r.value) AS values, max(r.censored) AS censored"
    " FROM readings r LEFT JOIN devices d ON d.id = r.device_id"
    " WHERE r.patient_id = %(patient)s AND r.metric = ANY(%(metrics)s)"
    "  AND (%(start)s::timestamptz IS NULL OR r.time >= %(start)s)"
    "  AND (%(end)s::timestamptz IS NULL OR r.time <= %(end)s)"
    "  AND (%(times)s::timestamptz[] IS NULL OR r.time = ANY(%(times)s))"
    "  AND (%(after_time)s::timestamptz IS NULL OR r.time <= %(after_time)s)"
    "  AND (r.metric <> %(glucose)s OR %(cgm)s::boolean IS NULL"
    "   OR coalesce(d.kind = ANY(%(cgm_kinds)s), false) = %(cgm)s)"
    " GROUP BY r.time, r.device_id, d.kind, grp) o"
    " WHERE (%(after_time)s::timestamptz IS NULL"
    "  OR (time, device_id, grp) < (%(after_time)s, %(after_device)s, %(after_grp)s))"
    " ORDER BY time DESC, device_id DESC, grp DESC LIMIT %(limit)s"
)


def _metrics_for(kinds: Sequence[ObservationKind]) -> tuple[list[str], bool | None]:
    """The stored metrics the kinds carry, and which glucose (True: a CGM's, False: not a
    CGM's, None: both or none)."""
    metrics = sorted({m.value for k in kinds for m in KINDS[k].metrics} - set(NOT_EXPORTED))
    cgm = ObservationKind.CGM_GLUCOSE in kinds
    meter = ObservationKind.METER_GLUCOSE in kinds
    return metrics, (cgm if cgm != meter else None)


def observations(
    conn: Conn,
    *,
    patient_id: UUID,
    kinds: Sequence[ObservationKind],
    start: datetime | None = None,
    end: datetime | None = None,
    times: Sequence[datetime] | None = None,
    after: Cursor | None = None,
    limit: int,
) -> list[tuple[ObservationRow, str | None, Cursor]]:
    """The patient's Observations, newest first: each with its device's kind and cursor."""
    metrics, cgm = _metrics_for(kinds)
    if not metrics:
        return []
    params = {
        "panel": [m.value for m in BP_COMPONENTS],
        "panel_key": _PANEL,
        "patient": patient_id,
        "metrics": metrics,
        "start": start,
        "end": end,
        "times": list(times) if times is not None else None,
        "glucose": Metric.GLUCOSE.value,
        "cgm": cgm,
        "cgm_kinds": sorted(CGM_DEVICE_KINDS),
        "after_time": after[0] if after else None,
        "after_device": after[1] if after else None,
        "after_grp": after[2] if after else None,
        "limit": limit,
    }
    out = []
    with conn.cursor(row_factory=dict_row) as cur:
        for r in cur.execute(_OBSERVATIONS, params):
            values = {Metric(m): float(v) for m, v in r["values"].items()}
            kind = observation_kind(next(iter(values)), r["device_kind"])
            if kind is None or not set(KINDS[kind].metrics) <= set(values):
                continue  # a panel missing a half is not a blood pressure (ingest stores both)
            row = ObservationRow(patient_id, r["time"], kind, r["device_id"], values, r["censored"])
            out.append((row, r["device_kind"], (r["time"], r["device_id"], r["grp"])))
    return out


def devices(conn: Conn, *, device_ids: Sequence[str]) -> list[DeviceRow]:
    rows = conn.execute(
        "SELECT id, kind FROM devices WHERE id = ANY(%s) ORDER BY id", (list(device_ids),)
    ).fetchall()
    return [DeviceRow(r[0], r[1]) for r in rows]


def visible_device(conn: Conn, *, principal: Principal, device_id: str) -> DeviceRow | None:
    """A device of the caller's tenant ever assigned to a patient the caller may see."""
    query = sql.SQL(
        "SELECT d.id, d.kind FROM devices d WHERE d.id = %(device)s AND d.tenant_id = %(tenant)s"
        " AND EXISTS (SELECT 1 FROM device_assignments a JOIN patients p ON p.id = a.patient_id"
        " WHERE a.device_id = d.id AND {})"
    ).format(
        patient_visible(
            "p",
            tenant=sql.Placeholder("tenant"),
            admin=sql.Placeholder("admin"),
            user=sql.Placeholder("user"),
        )
    )
    row = conn.execute(query, {**scope_params(principal), "device": device_id}).fetchone()
    return DeviceRow(row[0], row[1]) if row else None


def patient(conn: Conn, *, patient_id: UUID) -> PatientRow | None:
    row = conn.execute(
        "SELECT id, display_name, birth_date, record_number, discharged_at IS NULL"
        " FROM patients WHERE id = %s",
        (patient_id,),
    ).fetchone()
    if row is None:
        return None
    return PatientRow(row[0], row[1], row[2], row[3], row[4])


def alerts(
    conn: Conn, *, patient_id: UUID, after: tuple[datetime, UUID] | None, limit: int
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, patient_id, cause, detector, severity, state, first_seen, last_seen,"
            " metrics, explanation, acknowledged_at, resolved_at, outcome FROM alerts"
            " WHERE patient_id = %(patient)s AND (%(at)s::timestamptz IS NULL"
            "  OR (first_seen, id) < (%(at)s, %(id)s))"
            " ORDER BY first_seen DESC, id DESC LIMIT %(limit)s",
            {
                "patient": patient_id,
                "at": after[0] if after else None,
                "id": after[1] if after else None,
                "limit": limit,
            },
        ).fetchall()


# -- service accounts ------------------------------------------------------------------------


def fhir_principal_for_token(conn: Conn, *, digest: bytes) -> Principal | None:
    """The caller of the FHIR API: a service account or a staff member with a live token."""
    row = conn.execute(
        "SELECT u.id, u.tenant_id, u.role, u.email, u.display_name"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now()"
        " AND u.disabled_at IS NULL AND u.role IN ('admin', 'clinician')",
        (digest,),
    ).fetchone()
    if row is None:
        return None
    return Principal(row[0], row[1], Role(row[2]), row[3], row[4])


def mark_service_account(conn: Conn, *, user_id: UUID) -> None:
    conn.execute("UPDATE users SET service_account = true WHERE id = %s", (user_id,))
