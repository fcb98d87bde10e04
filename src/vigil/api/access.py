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


def patient_visible(
    patient: str, *, tenant: sql.Composable, admin: sql.Composable, user: sql.Composable
) -> sql.Composed:
    """The rule for a patient, as an SQL condition on the ``patients`` row aliased ``patient``:
    in the caller's tenant, and the caller an admin or a member of a care team of theirs.
    ``tenant``, ``admin`` and ``user`` say where the caller's are (placeholders or columns).
    Every path that decides who sees a patient states it through this function."""
    return sql.SQL(
        "{p}.tenant_id = {tenant} AND ({admin} OR EXISTS ("
        " SELECT 1 FROM care_team_patients ctp JOIN care_team_members m ON m.team_id = ctp.team_id"
        " WHERE ctp.patient_id = {p}.id AND m.user_id = {user}))"
    ).format(p=sql.Identifier(patient), tenant=tenant, admin=admin, user=user)


def team_visible(
    team: str, *, tenant: sql.Composable, admin: sql.Composable, user: sql.Composable
) -> sql.Composed:
    """The rule for a care team, as an SQL condition on the ``care_teams`` row aliased
    ``team``: in the caller's tenant, and the caller an admin or one of its members."""
    return sql.SQL(
        "{t}.tenant_id = {tenant} AND ({admin} OR EXISTS ("
        " SELECT 1 FROM care_team_members m WHERE m.team_id = {t}.id AND m.user_id = {user}))"
    ).format(t=sql.Identifier(team), tenant=tenant, admin=admin, user=user)


_BY_PARAMS = {
    "tenant": sql.Placeholder("tenant"),
    "admin": sql.Placeholder("admin"),
    "user": sql.Placeholder("user"),
}

VISIBLE_PATIENTS_SQL = sql.SQL("SELECT p.id FROM patients p WHERE {}").format(
    patient_visible("p", **_BY_PARAMS)
)
"""The patients a staff member may see; parameters from :func:`scope_params`."""

VISIBLE_TEAMS = team_visible("t", **_BY_PARAMS)
"""The care teams (aliased ``t``) a staff member may see; parameters from :func:`scope_params`."""


def scope_params(principal: Principal) -> dict[str, object]:
    return {
        "tenant": principal.tenant_id,
        "admin": principal.is_admin,
        "user": principal.user_id,
    }
