"""Identity, care teams, access checks and the audit log: the API's own SQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil.api.access import (
    VISIBLE_PATIENTS_SQL,
    VISIBLE_TEAMS,
    Principal,
    Role,
    scope_params,
)
from vigil.core.errors import Conflict, NotFound

Conn = psycopg.Connection[Any]


def _uuid(row: Any) -> UUID:
    assert row is not None
    value: UUID = row[0]
    return value


def create_user(
    conn: Conn,
    *,
    tenant_id: UUID,
    email: str,
    display_name: str,
    role: Role,
    password_hash: str,
    patient_id: UUID | None = None,
) -> UUID:
    if patient_id is not None:
        row = conn.execute("SELECT tenant_id FROM patients WHERE id = %s", (patient_id,))
        found = row.fetchone()
        if found is None or found[0] != tenant_id:
            raise NotFound(f"no patient {patient_id} in this tenant")
    try:
        with conn.transaction():
            return _uuid(
                conn.execute(
                    "INSERT INTO users"
                    " (tenant_id, email, display_name, role, password_hash, patient_id)"
                    " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                    (tenant_id, email, display_name, role.value, password_hash, patient_id),
                ).fetchone()
            )
    except pg_errors.UniqueViolation:
        # The same answer whichever tenant holds the address (e-mails sign in: they are global).
        raise Conflict("this e-mail cannot be used (or this patient already has a user)") from None
    except pg_errors.CheckViolation:
        raise Conflict("a patient user needs patient_id; other roles must not have one") from None


def user_for_login(conn: Conn, *, email: str) -> tuple[UUID, str, UUID] | None:
    """The account signing in: user id, password hash, tenant."""
    row = conn.execute(
        "SELECT id, password_hash, tenant_id FROM users WHERE lower(email) = lower(%s)"
        " AND disabled_at IS NULL",
        (email,),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else None


def store_token(conn: Conn, *, digest: bytes, user_id: UUID, expires_at: datetime) -> None:
    conn.execute(
        "INSERT INTO api_tokens (token_hash, user_id, expires_at) VALUES (%s, %s, %s)",
        (digest, user_id, expires_at),
    )


def revoke_token(conn: Conn, *, digest: bytes) -> None:
    conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = %s AND revoked_at IS NULL",
        (digest,),
    )


def principal_for_token(conn: Conn, *, digest: bytes) -> tuple[Principal, float] | None:
    """The token's user and the seconds until the token expires."""
    row = conn.execute(
        "SELECT u.id, u.tenant_id, u.role, u.email, u.display_name, u.patient_id,"
        " extract(epoch FROM t.expires_at - now())::float8"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = %s AND t.revoked_at IS NULL AND t.expires_at > now()"
        " AND u.disabled_at IS NULL AND NOT u.service_account",  # service accounts: /fhir/r4
        (digest,),
    ).fetchone()
    if row is None:
        return None
    return Principal(row[0], row[1], Role(row[2]), row[3], row[4], row[5]), float(row[6])


def list_users(conn: Conn, *, tenant_id: UUID, limit: int, offset: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, email, display_name, role, patient_id, created_at, disabled_at FROM users"
            " WHERE tenant_id = %s ORDER BY created_at, id LIMIT %s OFFSET %s",
            (tenant_id, limit, offset),
        ).fetchall()


# -- access ----------------------------------------------------------------------------------


def patient_visibility(conn: Conn, *, principal: Principal, patient_id: UUID) -> bool:
    """True when the patient exists and the principal (staff) may see them."""
    if not principal.is_staff:
        return False
    row = conn.execute(
        sql.SQL("SELECT EXISTS ({} AND p.id = %(patient)s)").format(VISIBLE_PATIENTS_SQL),
        {**scope_params(principal), "patient": patient_id},
    ).fetchone()
    return bool(row and row[0])


def visible_patients(conn: Conn, *, principal: Principal) -> set[UUID]:
    """Every patient a staff member may see now (an open alert stream's filter)."""
    return {r[0] for r in conn.execute(VISIBLE_PATIENTS_SQL, scope_params(principal))}


def alert_patient(conn: Conn, *, alert_id: UUID) -> UUID | None:
    row = conn.execute("SELECT patient_id FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    return row[0] if row else None


# -- care teams ------------------------------------------------------------------------------


def create_team(conn: Conn, *, tenant_id: UUID, name: str) -> UUID:
    try:
        with conn.transaction():
            return _uuid(
                conn.execute(
                    "INSERT INTO care_teams (tenant_id, name) VALUES (%s, %s) RETURNING id",
                    (tenant_id, name),
                ).fetchone()
            )
    except pg_errors.UniqueViolation:
        raise Conflict(f"a care team named {name!r} exists") from None


def team_in_tenant(conn: Conn, *, team_id: UUID, tenant_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM care_teams WHERE id = %s AND tenant_id = %s", (team_id, tenant_id)
    ).fetchone()
    return row is not None


def list_teams(
    conn: Conn, *, principal: Principal, limit: int = 1000, offset: int = 0
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            sql.SQL(
                "SELECT t.id, t.name, t.created_at,"
                " (SELECT count(*) FROM care_team_patients c WHERE c.team_id = t.id) AS patients,"
                " (SELECT count(*) FROM care_team_members c WHERE c.team_id = t.id) AS members"
                " FROM care_teams t WHERE {} ORDER BY t.name LIMIT %(limit)s OFFSET %(offset)s"
            ).format(VISIBLE_TEAMS),
            {**scope_params(principal), "limit": limit, "offset": offset},
        ).fetchall()


def add_member(conn: Conn, *, team_id: UUID, user_id: UUID, tenant_id: UUID) -> None:
    row = conn.execute(
        "SELECT role FROM users WHERE id = %s AND tenant_id = %s", (user_id, tenant_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no user {user_id} in this tenant")
    if row[0] == Role.PATIENT.value:
        raise Conflict("a patient cannot be a care team member")
    conn.execute(
        "INSERT INTO care_team_members (team_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (team_id, user_id),
    )


def add_team_patient(conn: Conn, *, team_id: UUID, patient_id: UUID, tenant_id: UUID) -> None:
    row = conn.execute(
        "SELECT 1 FROM patients WHERE id = %s AND tenant_id = %s", (patient_id, tenant_id)
    ).fetchone()
    if row is None:
        raise NotFound(f"no patient {patient_id} in this tenant")
    conn.execute(
        "INSERT INTO care_team_patients (team_id, patient_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING",
        (team_id, patient_id),
    )


# -- audit -----------------------------------------------------------------------------------


def record_audit(
    conn: Conn,
    *,
    principal: Principal | None,
    action: str,
    method: str,
    path: str,
    patient_id: UUID | None,
    allowed: bool,
    status: int,
    detail: dict[str, Any] | None = None,
    tenant_id: UUID | None = None,
) -> None:
    """``tenant_id`` attributes an anonymous attempt (a refused sign-in to a known account)."""
    conn.execute(
        "INSERT INTO audit_log (tenant_id, actor_user_id, actor_role, action, method, path,"
        " patient_id, outcome, status, detail) VALUES ("
        " coalesce(%s, %s, (SELECT tenant_id FROM patients WHERE id = %s)),"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            principal.tenant_id if principal else None,
            tenant_id,
            patient_id,
            principal.user_id if principal else None,
            principal.role.value if principal else None,
            action,
            method,
            path[:500],
            patient_id,
            "allowed" if allowed else "denied",
            status,
            Jsonb(detail or {}),
        ),
    )


OPERATOR_COUNTS = """
SELECT
 (SELECT count(*) FROM readings
   WHERE time > now() - interval '2 days' AND received_at > now() - interval '1 minute'),
 (SELECT coalesce(extract(epoch FROM avg(received_at - time)), 0) FROM readings
   WHERE time > now() - interval '2 days' AND received_at > now() - interval '1 minute'),
 (SELECT count(*) FROM rejected_messages),
 (SELECT count(*) FROM alerts),
 (SELECT count(*) FROM alerts WHERE state <> 'resolved'),
 (SELECT count(*) FROM deliveries WHERE state = 'dead'),
 (SELECT count(*) FROM deliveries WHERE state = 'pending')
"""


def operator_counts(conn: Conn) -> tuple[Any, ...]:
    """What every process agrees on, for the metrics scrape: readings stored in the last minute,
    their mean delay (s), rejected messages, alerts, open alerts, dead and pending deliveries."""
    row = conn.execute(OPERATOR_COUNTS).fetchone()
    assert row is not None
    return tuple(row)
