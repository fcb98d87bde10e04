"""The patient identity header and alert assignment: who the patient is, what measures them,
who looks after them; and which of the tenant's staff an alert is assigned to."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from vigil.api.repo import Conn
from vigil.core.errors import NotFound


def age_on(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def patient_identity(conn: Conn, *, patient_id: UUID, today: date) -> dict[str, Any]:
    """Name, date of birth and age, record number, conditions, the devices assigned now with
    their last reading's time, the care teams with their members. The caller's access to the
    patient is checked before (PatientDep)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT id, display_name, conditions, birth_date, record_number, discharged_at"
            " FROM patients WHERE id = %s",
            (patient_id,),
        ).fetchone()
        if row is None:
            raise NotFound(f"no patient {patient_id}")
        devices = cur.execute(
            "SELECT d.id, d.kind, (SELECT max(l.time) FROM latest_readings l"
            "  WHERE l.patient_id = a.patient_id AND l.device_id = d.id) AS last_sync"
            " FROM device_assignments a JOIN devices d ON d.id = a.device_id"
            " WHERE a.patient_id = %s AND a.valid @> now() AND d.revoked_at IS NULL"
            " ORDER BY d.id",
            (patient_id,),
        ).fetchall()
        teams = cur.execute(
            "SELECT t.id, t.name, coalesce((SELECT json_agg(json_build_object('id', u.id,"
            "  'display_name', u.display_name, 'role', u.role) ORDER BY u.display_name)"
            "  FROM care_team_members m JOIN users u ON u.id = m.user_id"
            "  WHERE m.team_id = t.id), '[]') AS members"
            " FROM care_team_patients ctp JOIN care_teams t ON t.id = ctp.team_id"
            " WHERE ctp.patient_id = %s ORDER BY t.name",
            (patient_id,),
        ).fetchall()
    return {**row, "age": age_on(row["birth_date"], today), "devices": devices, "teams": teams}


def staff_in_tenant(conn: Conn, *, user_id: UUID, tenant_id: UUID) -> bool:
    """An alert may be assigned to an admin or clinician of the alert's tenant, nobody else."""
    found = conn.execute(
        "SELECT 1 FROM users WHERE id = %s AND tenant_id = %s AND role IN ('admin', 'clinician')",
        (user_id, tenant_id),
    ).fetchone()
    return found is not None


def tenant_staff(conn: Conn, *, tenant_id: UUID, limit: int) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, display_name, role FROM users WHERE tenant_id = %s"
            " AND role IN ('admin', 'clinician') ORDER BY display_name, id LIMIT %s",
            (tenant_id, limit),
        ).fetchall()


class DeviceBrief(BaseModel):
    id: str
    kind: str
    last_sync: datetime | None = Field(description="Its newest reading of this patient")


class StaffBrief(BaseModel):
    id: UUID
    display_name: str
    role: str


class TeamBrief(BaseModel):
    id: UUID
    name: str
    members: list[StaffBrief]


class PatientIdentity(BaseModel):
    id: UUID
    display_name: str
    conditions: list[str]
    birth_date: date | None
    age: int | None
    record_number: str | None
    discharged_at: datetime | None
    devices: list[DeviceBrief]
    teams: list[TeamBrief]
