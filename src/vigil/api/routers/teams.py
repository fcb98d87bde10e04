"""Care teams: members, patients, and the dashboard's latest-vitals list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response, status

from vigil.api import clinical_repo, repo
from vigil.api.audit import audit_allowed, refuse
from vigil.api.deps import (
    AdminUser,
    CachedStaffUser,
    ConnDep,
    StaffUser,
    authorise_read,
    cached_read,
)
from vigil.api.models import (
    CareTeamCreate,
    CareTeamPublic,
    MemberAdd,
    PatientVitals,
    TeamPatientAdd,
)
from vigil.api.paging import Offset
from vigil.core.errors import NotFound

router = APIRouter(prefix="/care-teams", tags=["care teams"])
live_reads = APIRouter(prefix="/care-teams", tags=["care teams"])
"""The dashboard's live read, included before every other route (vigil.api.app)."""
TeamId = Annotated[UUID, Path(description="The care team")]
VITALS_WINDOW = timedelta(days=30)


@live_reads.get("/{team_id}/latest-vitals", response_model=list[PatientVitals])
async def latest_vitals(team_id: TeamId, user: CachedStaffUser, request: Request) -> Response:
    """Every patient of the team with the latest value of each metric (last 30 days) and the
    number of unresolved alerts: the dashboard's patient list, in one call."""
    await authorise_read(request, user, team_id=team_id, detail={"team_id": str(team_id)})
    since = datetime.now(UTC) - VITALS_WINDOW
    return await cached_read(
        request,
        ("latest-vitals", team_id),
        lambda: clinical_repo.latest_vitals_query(team_id=team_id, since=since),
    )


@router.get("", response_model=list[CareTeamPublic])
def list_teams(
    conn: ConnDep,
    user: StaffUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> list[CareTeamPublic]:
    """Your care teams (every team of the tenant for an admin), by name."""
    rows = repo.list_teams(conn, principal=user, limit=limit, offset=offset)
    return [CareTeamPublic.model_validate(r) for r in rows]


@router.post("", response_model=CareTeamPublic, status_code=status.HTTP_201_CREATED)
def create_team(body: CareTeamCreate, conn: ConnDep, user: AdminUser) -> CareTeamPublic:
    team_id = repo.create_team(conn, tenant_id=user.tenant_id, name=body.name)
    return CareTeamPublic(id=team_id, name=body.name)


def _team(conn: ConnDep, request: Request, user: AdminUser, team_id: UUID) -> None:
    if not repo.team_in_tenant(conn, team_id=team_id, tenant_id=user.tenant_id):
        raise refuse(conn, request, user, NotFound(f"no care team {team_id}"))


@router.post("/{team_id}/members", status_code=status.HTTP_204_NO_CONTENT)
def add_member(
    team_id: TeamId, body: MemberAdd, conn: ConnDep, user: AdminUser, request: Request
) -> None:
    _team(conn, request, user, team_id)
    repo.add_member(conn, team_id=team_id, user_id=body.user_id, tenant_id=user.tenant_id)


@router.post("/{team_id}/patients", status_code=status.HTTP_204_NO_CONTENT)
def add_patient(
    team_id: TeamId, body: TeamPatientAdd, conn: ConnDep, user: AdminUser, request: Request
) -> None:
    _team(conn, request, user, team_id)
    repo.add_team_patient(
        conn, team_id=team_id, patient_id=body.patient_id, tenant_id=user.tenant_id
    )
    audit_allowed(conn, request, user, patient_id=body.patient_id)
