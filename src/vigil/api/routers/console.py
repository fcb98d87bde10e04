"""The admin console's endpoints: change users, list and remove team members and patients,
discharge a patient, webhook delivery status and switching a destination off.

Every endpoint is for administrators of the caller's tenant: another tenant's user, team,
patient or webhook is answered 404 (and the attempt audited), as it would be if it did not
exist.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, status

from vigil.api import clinical_repo, console_repo, repo
from vigil.api.audit import audit_allowed, refuse
from vigil.api.console_models import DischargePublic, UserUpdate, WebhookStatus, WebhookUpdate
from vigil.api.deps import (
    AdminUser,
    ConnDep,
    check_patient_filter,
)
from vigil.api.models import PatientPublic, UserPublic
from vigil.api.paging import Offset
from vigil.api.routers.admin import severity_name
from vigil.api.state import state_of
from vigil.core.errors import NotFound

router = APIRouter(tags=["administration"])
UserId = Annotated[UUID, Path(description="The user")]
TeamId = Annotated[UUID, Path(description="The care team")]
PatientId = Annotated[UUID, Path(description="The patient")]
Limit = Annotated[int, Query(ge=1, le=1000, description="At most this many rows")]


def _user(conn: ConnDep, request: Request, admin: AdminUser, user_id: UUID) -> None:
    try:
        console_repo.get_user(conn, tenant_id=admin.tenant_id, user_id=user_id)
    except NotFound as e:
        raise refuse(conn, request, admin, e) from None


def _team(conn: ConnDep, request: Request, admin: AdminUser, team_id: UUID) -> None:
    if not repo.team_in_tenant(conn, team_id=team_id, tenant_id=admin.tenant_id):
        raise refuse(conn, request, admin, NotFound(f"no care team {team_id}"))


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(user_id: UserId, conn: ConnDep, user: AdminUser, request: Request) -> UserPublic:
    _user(conn, request, user, user_id)
    row = console_repo.get_user(conn, tenant_id=user.tenant_id, user_id=user_id)
    return UserPublic.model_validate(row)


@router.patch("/users/{user_id}", response_model=UserPublic)
def update_user(
    user_id: UserId, body: UserUpdate, conn: ConnDep, user: AdminUser, request: Request
) -> UserPublic:
    """Rename, change a staff member's role, disable (tokens revoked) or enable a user.
    409 for a patient's role, or for changing your own role or disabling yourself."""
    _user(conn, request, user, user_id)
    row = console_repo.update_user(
        conn,
        tenant_id=user.tenant_id,
        user_id=user_id,
        actor_id=user.user_id,
        display_name=body.display_name,
        role=body.role,
        disabled=body.disabled,
    )
    audit_allowed(
        conn,
        request,
        user,
        patient_id=row["patient_id"],
        detail={"user_id": str(user_id), **body.model_dump(mode="json", exclude_none=True)},
    )
    # Its tokens are revoked in the database (console_repo.update_user); this process stops
    # honouring them now, others within the token cache's lifetime.
    state_of(request.app).tokens.drop_user(user_id)
    return UserPublic.model_validate(row)


@router.get("/care-teams/{team_id}/members", response_model=list[UserPublic])
def team_members(
    team_id: TeamId,
    conn: ConnDep,
    user: AdminUser,
    request: Request,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[UserPublic]:
    _team(conn, request, user, team_id)
    rows = console_repo.list_members(conn, team_id=team_id, limit=limit, offset=offset)
    return [UserPublic.model_validate(r) for r in rows]


@router.delete("/care-teams/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(
    team_id: TeamId, user_id: UserId, conn: ConnDep, user: AdminUser, request: Request
) -> None:
    _team(conn, request, user, team_id)
    console_repo.remove_member(conn, team_id=team_id, user_id=user_id)


@router.get("/care-teams/{team_id}/patients", response_model=list[PatientPublic])
def team_patients(
    team_id: TeamId,
    conn: ConnDep,
    user: AdminUser,
    request: Request,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[PatientPublic]:
    _team(conn, request, user, team_id)
    rows = console_repo.list_team_patients(conn, team_id=team_id, limit=limit, offset=offset)
    audit_allowed(conn, request, user, patient_id=None, detail={"patients": len(rows)})
    return [PatientPublic.model_validate(r) for r in rows]


@router.delete(
    "/care-teams/{team_id}/patients/{patient_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_team_patient(
    team_id: TeamId, patient_id: PatientId, conn: ConnDep, user: AdminUser, request: Request
) -> None:
    _team(conn, request, user, team_id)
    check_patient_filter(conn, request, user, patient_id)
    console_repo.remove_team_patient(conn, team_id=team_id, patient_id=patient_id)
    audit_allowed(conn, request, user, patient_id=patient_id, detail={"team_id": str(team_id)})


@router.post("/patients/{patient_id}/discharge", response_model=DischargePublic)
def discharge(
    patient_id: PatientId, conn: ConnDep, user: AdminUser, request: Request
) -> DischargePublic:
    """End monitoring: the patient is marked discharged and their devices' assignments end now
    (the devices stay provisioned, ready for another patient). The record is kept."""
    check_patient_filter(conn, request, user, patient_id)
    devices = console_repo.discharge(conn, patient_id=patient_id, actor_id=user.user_id)
    audit_allowed(conn, request, user, patient_id=patient_id, detail={"devices": devices})
    row = clinical_repo.get_patient(conn, patient_id=patient_id)
    return DischargePublic(
        patient_id=patient_id, discharged_at=row["discharged_at"], devices_unassigned=devices
    )


@router.get("/webhooks/status", response_model=list[WebhookStatus])
def webhook_status(
    conn: ConnDep,
    user: AdminUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[WebhookStatus]:
    """Each destination with its deliveries by state, its last delivery and last error."""
    rows = console_repo.webhook_status(conn, tenant_id=user.tenant_id, limit=limit, offset=offset)
    return [
        WebhookStatus.model_validate({**r, "min_severity": severity_name(r["min_severity"])})
        for r in rows
    ]


@router.patch("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def update_webhook(
    webhook_id: Annotated[UUID, Path()],
    body: WebhookUpdate,
    conn: ConnDep,
    user: AdminUser,
    request: Request,
) -> None:
    """Switch a destination off (no new deliveries) or on again."""
    try:
        console_repo.set_webhook_active(
            conn, tenant_id=user.tenant_id, webhook_id=webhook_id, active=body.active
        )
    except NotFound as e:
        raise refuse(conn, request, user, e) from None
