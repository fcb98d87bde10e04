"""The admin console's SQL: user changes, team members, discharge, webhook delivery status and
the audit log's filters. Every statement is scoped to the caller's tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row

from vigil.api.access import Role
from vigil.api.repo import Conn
from vigil.core.errors import Conflict, NotFound


def get_user(conn: Conn, *, tenant_id: UUID, user_id: UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT id, email, display_name, role, patient_id, created_at, disabled_at FROM users"
            " WHERE id = %s AND tenant_id = %s",
            (user_id, tenant_id),
        ).fetchone()
    if row is None:
        raise NotFound(f"no user {user_id} in this tenant")
    return row


def update_user(
    conn: Conn,
    *,
    tenant_id: UUID,
    user_id: UUID,
    actor_id: UUID,
    display_name: str | None,
    role: Role | None,
    disabled: bool | None,
) -> dict[str, Any]:
    """Rename, change a staff role (admin <-> clinician), disable or enable. A patient's role
    is tied to their record and cannot change; nobody may demote or disable themselves (a
    tenant must not lose its last way in by one click). Disabling revokes the user's tokens."""
    current = get_user(conn, tenant_id=tenant_id, user_id=user_id)
    if role is not None and role is not Role(current["role"]):
        if Role.PATIENT in (role, Role(current["role"])):
            raise Conflict("a patient user's role cannot change (nor can staff become patients)")
        if user_id == actor_id:
            raise Conflict("you cannot change your own role")
    if disabled and user_id == actor_id:
        raise Conflict("you cannot disable yourself")
    conn.execute(
        "UPDATE users SET display_name = coalesce(%s, display_name), role = coalesce(%s, role),"
        " disabled_at = CASE WHEN %s::boolean IS NULL THEN disabled_at"
        "  WHEN %s THEN coalesce(disabled_at, now()) ELSE NULL END"
        " WHERE id = %s AND tenant_id = %s",
        (display_name, role.value if role else None, disabled, disabled, user_id, tenant_id),
    )
    if disabled or (role is not None and role is not Role(current["role"])):
        conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        )
    return get_user(conn, tenant_id=tenant_id, user_id=user_id)


def list_members(conn: Conn, *, team_id: UUID, limit: int, offset: int = 0) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT u.id, u.email, u.display_name, u.role, u.patient_id, u.created_at,"
            " u.disabled_at FROM users u"
            " JOIN care_team_members m ON m.user_id = u.id WHERE m.team_id = %s"
            " ORDER BY u.display_name, u.id LIMIT %s OFFSET %s",
            (team_id, limit, offset),
        ).fetchall()


def list_team_patients(
    conn: Conn, *, team_id: UUID, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT p.id, p.display_name, p.conditions, p.created_at, p.discharged_at"
            " FROM patients p JOIN care_team_patients c ON c.patient_id = p.id"
            " WHERE c.team_id = %s ORDER BY p.display_name, p.id LIMIT %s OFFSET %s",
            (team_id, limit, offset),
        ).fetchall()


def remove_member(conn: Conn, *, team_id: UUID, user_id: UUID) -> None:
    cur = conn.execute(
        "DELETE FROM care_team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id)
    )
    if cur.rowcount == 0:
        raise NotFound(f"user {user_id} is not a member of this team")


def remove_team_patient(conn: Conn, *, team_id: UUID, patient_id: UUID) -> None:
    cur = conn.execute(
        "DELETE FROM care_team_patients WHERE team_id = %s AND patient_id = %s",
        (team_id, patient_id),
    )
    if cur.rowcount == 0:
        raise NotFound(f"patient {patient_id} is not in this team")


def discharge(conn: Conn, *, patient_id: UUID, actor_id: UUID) -> list[str]:
    """Mark the patient discharged and end their devices' open assignments now; returns the
    devices unassigned. A second discharge is a conflict (the first one's time stays)."""
    cur = conn.execute(
        "UPDATE patients SET discharged_at = now(), discharged_by = %s"
        " WHERE id = %s AND discharged_at IS NULL",
        (actor_id, patient_id),
    )
    if cur.rowcount == 0:
        raise Conflict("the patient is already discharged")
    rows = conn.execute(
        "UPDATE device_assignments SET valid = tstzrange(lower(valid), now())"
        " WHERE patient_id = %s AND upper_inf(valid) AND lower(valid) < now()"
        " RETURNING device_id",
        (patient_id,),
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def webhook_status(conn: Conn, *, tenant_id: UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    """Each destination with its deliveries counted by state and its last attempt."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT w.id, w.url, w.level, w.min_severity, w.active, w.payload_format,"
            " count(d.id) FILTER (WHERE d.state = 'pending') AS pending,"
            " count(d.id) FILTER (WHERE d.state = 'delivered') AS delivered,"
            " count(d.id) FILTER (WHERE d.state = 'dead') AS dead,"
            " max(d.delivered_at) AS last_delivered_at,"
            " (SELECT d2.last_error FROM deliveries d2 WHERE d2.webhook_id = w.id"
            "  AND d2.last_error IS NOT NULL ORDER BY d2.id DESC LIMIT 1) AS last_error"
            " FROM webhooks w LEFT JOIN deliveries d ON d.webhook_id = w.id"
            " WHERE w.tenant_id = %s GROUP BY w.id ORDER BY w.created_at, w.id"
            " LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        ).fetchall()


def set_webhook_active(conn: Conn, *, tenant_id: UUID, webhook_id: UUID, active: bool) -> None:
    cur = conn.execute(
        "UPDATE webhooks SET active = %s WHERE id = %s AND tenant_id = %s",
        (active, webhook_id, tenant_id),
    )
    if cur.rowcount == 0:
        raise NotFound(f"no webhook {webhook_id}")


def list_audit(
    conn: Conn,
    *,
    tenant_id: UUID,
    patient_id: UUID | None,
    actor_user_id: UUID | None,
    outcome: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before_id: int | None,
) -> list[dict[str, Any]]:
    """Newest first; ``before_id`` pages back; ``action`` matches a prefix of the action name;
    ``[since, until)`` bounds the time. Each row names its actor (e-mail) for the console."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT a.id, a.at, a.actor_user_id, a.actor_role, a.action, a.method, a.path,"
            " a.patient_id, a.outcome, a.status, a.detail, u.email AS actor_email"
            " FROM audit_log a LEFT JOIN users u ON u.id = a.actor_user_id"
            " WHERE a.tenant_id = %(tenant)s"
            " AND (%(patient)s::uuid IS NULL OR a.patient_id = %(patient)s)"
            " AND (%(actor)s::uuid IS NULL OR a.actor_user_id = %(actor)s)"
            " AND (%(outcome)s::text IS NULL OR a.outcome = %(outcome)s)"
            " AND (%(action)s::text IS NULL OR starts_with(a.action, %(action)s))"
            " AND (%(since)s::timestamptz IS NULL OR a.at >= %(since)s)"
            " AND (%(until)s::timestamptz IS NULL OR a.at < %(until)s)"
            " AND (%(before)s::bigint IS NULL OR a.id < %(before)s)"
            " ORDER BY a.id DESC LIMIT %(limit)s",
            {
                "tenant": tenant_id,
                "patient": patient_id,
                "actor": actor_user_id,
                "outcome": outcome,
                "action": action,
                "since": since,
                "until": until,
                "before": before_id,
                "limit": limit,
            },
        ).fetchall()


# -- the tenant, its webhooks and devices (routers/admin.py, routers/devices.py) ------------


def get_tenant(conn: Conn, *, tenant_id: UUID) -> tuple[UUID, str, datetime]:
    row = conn.execute(
        "SELECT id, name, created_at FROM tenants WHERE id = %s", (tenant_id,)
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def list_webhooks(conn: Conn, *, tenant_id: UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, url, level, min_severity, active, payload_format FROM webhooks"
            " WHERE tenant_id = %s"
            " ORDER BY created_at, id LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        ).fetchall()


def list_devices(conn: Conn, *, tenant_id: UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT d.id, d.kind, d.created_at, d.revoked_at, a.patient_id FROM devices d"
            " LEFT JOIN device_assignments a ON a.device_id = d.id AND a.valid @> now()"
            " WHERE d.tenant_id = %s ORDER BY d.created_at, d.id LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        ).fetchall()


def device_in_tenant(conn: Conn, *, device_id: str, tenant_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM devices WHERE id = %s AND tenant_id = %s", (device_id, tenant_id)
    ).fetchone()
    return row is not None


def patient_in_tenant(conn: Conn, *, patient_id: Any, tenant_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM patients WHERE id = %s AND tenant_id = %s", (patient_id, tenant_id)
    ).fetchone()
    return row is not None


def lock_broker_sync(conn: Conn, *, key: int) -> None:
    """One broker sync at a time, across API processes (released at the commit)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
