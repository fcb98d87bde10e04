"""Who is calling, and what they may see: the authorisation rules in one place.

- An **admin** sees every patient of their tenant.
- A **clinician** sees the patients of the care teams they belong to (in their tenant).
- A **patient** sees only their own data, through ``/api/v1/me``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from psycopg import sql


class Role(StrEnum):
    ADMIN = "admin"
    CLINICIAN = "clinician"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    tenant_id: UUID
    role: Role
    email: str
    display_name: str
    patient_id: UUID | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.CLINICIAN)


API_ROLE = "vigil_api"
"""The database role every API request runs as (migration 0004): no rewriting the audit log."""

VISIBLE_PATIENTS_SQL = sql.SQL(
    "SELECT p.id FROM patients p WHERE p.tenant_id = %(tenant)s AND (%(admin)s OR EXISTS ("
    " SELECT 1 FROM care_team_patients ctp JOIN care_team_members m ON m.team_id = ctp.team_id"
    " WHERE ctp.patient_id = p.id AND m.user_id = %(user)s))"
)
"""The patients a staff member may see; parameters from :func:`scope_params`. The hot reads'
batched check (``vigil.api.reads``) states the same rules per request row: change both."""


def scope_params(principal: Principal) -> dict[str, object]:
    return {
        "tenant": principal.tenant_id,
        "admin": principal.is_admin,
        "user": principal.user_id,
    }
