"""Administration: users, webhooks and their deliveries, the audit log, the burden report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, status
from pydantic import AwareDatetime

from vigil.alerts import (
    DeliveryState,
    DestinationPolicy,
    add_webhook,
    check_destination,
    list_deliveries,
)
from vigil.api import clinical_repo, console_repo, repo
from vigil.api.audit import audit_allowed
from vigil.api.deps import (
    AdminUser,
    ConnDep,
    StaffUser,
    check_alert_filter,
    check_patient_filter,
)
from vigil.api.models import (
    AuditEntry,
    BurdenReport,
    BurdenRow,
    DeliveryPublic,
    TenantPublic,
    UserCreate,
    UserPublic,
    WebhookCreate,
    WebhookPublic,
)
from vigil.api.paging import Offset
from vigil.api.security import hash_password
from vigil.api.state import state_of
from vigil.clinical.findings import Severity

router = APIRouter(tags=["administration"])
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/tenant", response_model=TenantPublic)
def my_tenant(conn: ConnDep, user: StaffUser) -> TenantPublic:
    """The tenant (clinic or health system) you belong to."""
    tenant_id, name, created_at = console_repo.get_tenant(conn, tenant_id=user.tenant_id)
    return TenantPublic(id=tenant_id, name=name, created_at=created_at)


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, conn: ConnDep, user: AdminUser, request: Request) -> UserPublic:
    """Create a user of your tenant; a patient user is linked to their patient record."""
    if body.patient_id is not None:
        check_patient_filter(conn, request, user, body.patient_id)
        audit_allowed(conn, request, user, patient_id=body.patient_id)
    user_id = repo.create_user(
        conn,
        tenant_id=user.tenant_id,
        email=body.email,
        display_name=body.display_name,
        role=body.role,
        password_hash=hash_password(body.password),
        patient_id=body.patient_id,
    )
    return UserPublic(
        id=user_id,
        email=body.email,
        display_name=body.display_name,
        role=body.role,
        patient_id=body.patient_id,
    )


@router.get("/users", response_model=list[UserPublic])
def list_users(
    conn: ConnDep,
    user: AdminUser,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[UserPublic]:
    rows = repo.list_users(conn, tenant_id=user.tenant_id, limit=limit, offset=offset)
    return [UserPublic.model_validate(r) for r in rows]


@router.post("/webhooks", response_model=WebhookPublic, status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookCreate, conn: ConnDep, user: AdminUser, request: Request
) -> WebhookPublic:
    """Add a receiver of alert notifications (signed with HMAC-SHA256 of the body).

    https only, and never an address inside (loopback, link-local, private, multicast):
    checked now and again at every delivery (400 when refused)."""
    check_destination(body.url, DestinationPolicy.from_settings(state_of(request.app).settings))
    webhook_id = add_webhook(
        conn,
        tenant_id=user.tenant_id,
        url=body.url,
        secret=body.secret,
        level=body.level,
        min_severity=int(Severity[body.min_severity.upper()]),
        payload_format=body.payload_format,
    )
    return WebhookPublic(
        id=webhook_id,
        url=body.url,
        level=body.level,
        min_severity=body.min_severity,
        active=True,
        payload_format=body.payload_format,
    )


@router.get("/webhooks", response_model=list[WebhookPublic])
def list_webhooks(
    conn: ConnDep,
    user: AdminUser,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[WebhookPublic]:
    rows = console_repo.list_webhooks(conn, tenant_id=user.tenant_id, limit=limit, offset=offset)
    return [
        WebhookPublic.model_validate({**r, "min_severity": severity_name(r["min_severity"])})
        for r in rows
    ]


def severity_name(value: int) -> str:
    known = [s for s in Severity if s <= value]
    return (known[-1] if known else Severity.INFO).name.lower()


@router.get("/notifications/deliveries", response_model=list[DeliveryPublic])
def deliveries(
    conn: ConnDep,
    user: AdminUser,
    request: Request,
    state: Literal["pending", "delivered", "dead"] | None = None,
    alert_id: UUID | None = None,
    limit: Limit = 100,
) -> list[DeliveryPublic]:
    """Webhook deliveries, newest first: pending (with retries), delivered, or dead."""
    check_alert_filter(conn, request, user, alert_id)
    found = list_deliveries(
        conn,
        tenant_id=user.tenant_id,
        state=DeliveryState(state) if state else None,
        alert_id=alert_id,
        limit=limit,
    )
    return [DeliveryPublic.model_validate(d, from_attributes=True) for d in found]


@router.get("/audit", response_model=list[AuditEntry])
def audit_log(
    conn: ConnDep,
    user: AdminUser,
    request: Request,
    patient_id: UUID | None = None,
    actor_user_id: UUID | None = None,
    outcome: Literal["allowed", "denied"] | None = None,
    action: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=r"^[^\x00]*$")
    ] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Limit = 100,
) -> list[AuditEntry]:
    """Who read or changed what, when, about which patient; refused attempts included.
    Newest first; page back with ``before_id`` = the last id seen. ``action`` matches the
    start of the action name; ``[since, until)`` bounds the time."""
    check_patient_filter(conn, request, user, patient_id)
    rows = console_repo.list_audit(
        conn,
        tenant_id=user.tenant_id,
        patient_id=patient_id,
        actor_user_id=actor_user_id,
        outcome=outcome,
        action=action,
        since=since,
        until=until,
        limit=limit,
        before_id=before_id,
    )
    return [AuditEntry.model_validate(r) for r in rows]


@router.get("/reports/alert-burden", response_model=BurdenReport)
def alert_burden(
    conn: ConnDep, user: AdminUser, days: Annotated[int, Query(ge=1, le=366)] = 28
) -> BurdenReport:
    """Alerts per patient-week and the share resolved as actionable, per rule and per patient:
    which rules cost the team attention for nothing."""
    since = datetime.now(UTC) - timedelta(days=days)

    def rows(by: str) -> list[BurdenRow]:
        return [
            _burden_row(r)
            for r in clinical_repo.burden(conn, tenant_id=user.tenant_id, since=since, by=by)
        ]

    return BurdenReport(days=days, by_rule=rows("rule"), by_patient=rows("patient"))


def _burden_row(r: dict[str, Any]) -> BurdenRow:
    weeks = float(r["patient_weeks"]) or 1.0
    resolved = int(r["resolved"])
    return BurdenRow(
        key=str(r["key"]),
        alerts=int(r["alerts"]),
        resolved=resolved,
        actionable=int(r["actionable"]),
        patient_weeks=round(weeks, 3),
        alerts_per_patient_week=round(int(r["alerts"]) / weeks, 4),
        actionable_share=round(int(r["actionable"]) / resolved, 4) if resolved else None,
    )
