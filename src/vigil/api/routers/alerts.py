"""The alert inbox, its actions, its events, and a Server-Sent Events stream of changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.sse import EventSourceResponse, ServerSentEvent

from vigil.alerts import (
    AUTO_RESOLVED_SHOWN,
    Alert,
    AlertChange,
    AlertService,
    Outcome,
    get_alert,
    list_events,
)
from vigil.api import clinical_repo, identity, repo
from vigil.api.access import API_ROLE, Principal
from vigil.api.audit import audit_allowed, refuse
from vigil.api.broadcast import AlertBroadcaster
from vigil.api.deps import (
    AlertDep,
    BearerDep,
    CachedStaffUser,
    ConnDep,
    StaffUser,
    authenticate,
    authorise_read,
    cached_read,
)
from vigil.api.errors import ApiError, Forbidden
from vigil.api.explanations import change_in, worded, worded_body
from vigil.api.identity import StaffBrief
from vigil.api.models import (
    AlertChangePublic,
    AlertEventPublic,
    AlertPublic,
    AssignIn,
    CommentIn,
    NoteIn,
    ResolveIn,
    SeverityName,
    SnoozeIn,
    StateName,
)
from vigil.api.state import state_of
from vigil.api.web.i18n import negotiate
from vigil.clinical.findings import Severity
from vigil.core.errors import NotFound

router = APIRouter(prefix="/alerts", tags=["alerts"])
live_reads = APIRouter(prefix="/alerts", tags=["alerts"])
"""The dashboard's live read, included before every other route (vigil.api.app)."""
Limit = Annotated[int, Query(ge=1, le=500)]
KEEPALIVE_S = 15.0


def alert_public(alert: Alert, lang: str = "en") -> AlertPublic:
    return AlertPublic.model_validate(
        worded(
            {
                **{f: getattr(alert, f) for f in AlertPublic.model_fields if hasattr(alert, f)},
                "metrics": list(alert.metrics),
                "causes": list(alert.causes),
                "state": alert.state.value,
                "severity": alert.severity.name.lower(),
                "outcome": alert.outcome.value if alert.outcome else None,
                **{k: alert.readings.get(k) for k in ("opened", "latest", "worst")},
            },
            lang,
        )
    )


def change_public(change: AlertChange, request: Request) -> AlertChangePublic:
    return AlertChangePublic.model_validate(change_in(change.as_json(), negotiate(request)))


def _service(request: Request) -> AlertService:
    service: AlertService = state_of(request.app).alert_service
    return service


ServiceDep = Annotated[AlertService, Depends(_service)]


@live_reads.get("", response_model=list[AlertPublic])
async def inbox(
    user: CachedStaffUser,
    request: Request,
    state: Annotated[list[StateName] | None, Query()] = None,
    severity: Annotated[list[SeverityName] | None, Query()] = None,
    patient_id: UUID | None = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    """Alerts of the patients you may see, most severe and most recent first.

    Default states: open, acknowledged and snoozed (everything not resolved), and for an hour
    the alerts the system resolved because their episode ended (outcome ``episode_ended``)."""
    states = sorted(set(state or ["open", "acknowledged", "snoozed"]))
    severities = sorted({int(Severity[s.upper()]) for s in severity or []})
    filters = {"states": states, "severities": severities, "limit": limit, "offset": offset}
    await authorise_read(request, user, patient_id=patient_id, detail=filters)
    lang = negotiate(request)
    key = (
        "inbox",
        user,
        state is None,
        tuple(states),
        tuple(severities),
        patient_id,
        limit,
        offset,
        lang,
    )
    return await cached_read(
        request,
        key,
        lambda: clinical_repo.alerts_inbox_query(
            principal=user,
            states=states,
            severities=severities,
            patient_id=patient_id,
            limit=limit,
            offset=offset,
            ended_since=None if state else datetime.now(UTC) - AUTO_RESOLVED_SHOWN,
        ),
        transform=lambda body: worded_body(body, lang),
    )


class StreamAccess:
    def __init__(self, principal: Principal, visible: set[UUID]) -> None:
        self.principal = principal
        self.visible = visible
        self.hidden: set[UUID] = set()
        """Patients looked up since the last re-check and not visible."""


def _stream_access(request: Request, credentials: BearerDep) -> StreamAccess:
    """Authenticate and snapshot the visible patients, then give the connection back."""
    with state_of(request.app).request_pool.connection() as conn:
        conn.execute(f"SET LOCAL ROLE {API_ROLE}")
        principal = authenticate(conn, request, credentials)
        if not principal.is_staff:
            raise refuse(conn, request, principal, Forbidden("this stream is for care teams"))
        visible = repo.visible_patients(conn, principal=principal)
        audit_allowed(conn, request, principal, patient_id=None, detail={"stream": True})
    return StreamAccess(principal, visible)


def _recheck(
    request: Request, credentials: HTTPAuthorizationCredentials | None, principal: Principal
) -> set[UUID]:
    """The patients an open stream may carry now (raises, audited, if the token is gone)."""
    with state_of(request.app).request_pool.connection() as conn:
        conn.execute(f"SET LOCAL ROLE {API_ROLE}")
        authenticate(conn, request, credentials)  # a token still cached costs no query
        return repo.visible_patients(conn, principal=principal)


async def _still_allowed(
    request: Request, credentials: HTTPAuthorizationCredentials | None, access: StreamAccess
) -> bool:
    """Re-check an open stream: a signed-out token ends it, and a care-team change narrows or
    widens what it carries."""
    try:
        async with state_of(request.app).request_slots:
            access.visible = await to_thread.run_sync(
                _recheck, request, credentials, access.principal
            )
    except ApiError:
        return False
    return True


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={200: {"description": "`alert` events carrying an AlertChangePublic as JSON"}},
)
async def stream(
    request: Request,
    credentials: BearerDep,
    access: Annotated[StreamAccess, Depends(_stream_access)],
) -> AsyncIterable[ServerSentEvent]:
    """Server-Sent Events: one ``alert`` event per change to an alert you may see.

    The caller's access is checked again every ``stream_recheck_s`` (10 s): the stream ends
    when the token is no longer valid, and follows care-team changes."""
    broadcaster: AlertBroadcaster = state_of(request.app).broadcaster
    recheck_s: float = state_of(request.app).stream_recheck_s
    queue = broadcaster.subscribe()
    lang = negotiate(request)
    tenant = str(access.principal.tenant_id)
    loop = asyncio.get_running_loop()
    next_check = loop.time() + recheck_s
    try:
        yield ServerSentEvent(comment="connected", retry=3000)
        while not await request.is_disconnected():
            if loop.time() >= next_check:
                if not await _still_allowed(request, credentials, access):
                    return
                access.hidden.clear()
                next_check = loop.time() + recheck_s
            try:
                wait = min(KEEPALIVE_S, max(0.0, next_check - loop.time()))
                change = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                if loop.time() < next_check:
                    yield ServerSentEvent(comment="keep-alive")
                continue
            if change.get("tenant_id") != tenant:
                continue
            patient = _uuid(change)
            if patient not in access.visible and patient not in access.hidden:
                # A patient enrolled (or added to a team) after the stream opened: look again
                # now rather than at the next re-check, once per such patient per re-check.
                if not await _still_allowed(request, credentials, access):
                    return
                if patient not in access.visible and patient is not None:
                    access.hidden.add(patient)
            if patient not in access.visible:
                continue
            body = change_in({k: v for k, v in change.items() if k != "tenant_id"}, lang)
            yield ServerSentEvent(data=body, event="alert", id=str(change.get("alert_id")))
    finally:
        broadcaster.unsubscribe(queue)


def _uuid(change: dict[str, Any]) -> UUID | None:
    try:
        return UUID(str(change.get("patient_id")))
    except ValueError:
        return None


@router.get("/assignees", response_model=list[StaffBrief])
def assignees(user: StaffUser, conn: ConnDep, limit: Limit = 500) -> list[StaffBrief]:
    """Whom an alert may be assigned to: your clinic's admins and clinicians."""
    rows = identity.tenant_staff(conn, tenant_id=user.tenant_id, limit=limit)
    return [StaffBrief.model_validate(r) for r in rows]


@router.get("/{alert_id}", response_model=AlertPublic)
def get_one(scope: AlertDep, conn: ConnDep, request: Request) -> AlertPublic:
    alert = get_alert(conn, alert_id=scope.alert_id)
    assert alert is not None
    return alert_public(alert, negotiate(request))


@router.get("/{alert_id}/events", response_model=list[AlertEventPublic])
def events(
    scope: AlertDep,
    conn: ConnDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    after_id: Annotated[int, Query(ge=0, le=2**62, description="Page on from this event")] = 0,
) -> list[AlertEventPublic]:
    """The alert's append-only trail: who did what, when, with which note (oldest first)."""
    return [
        AlertEventPublic(
            id=e.id,
            at=e.at,
            kind=e.kind,
            actor_user_id=e.actor_user_id,
            from_state=e.from_state.value if e.from_state else None,
            to_state=e.to_state.value if e.to_state else None,
            severity=e.severity.name.lower() if e.severity else None,
            note=e.note,
            details=e.details,
        )
        for e in list_events(conn, alert_id=scope.alert_id, limit=limit, after_id=after_id)
    ]


@router.post("/{alert_id}/acknowledge", response_model=AlertChangePublic)
def acknowledge(
    body: NoteIn, scope: AlertDep, conn: ConnDep, service: ServiceDep, request: Request
) -> AlertChangePublic:
    change = service.acknowledge(
        conn, alert_id=scope.alert_id, user_id=scope.principal.user_id, note=body.note
    )
    return change_public(change, request)


@router.post("/{alert_id}/snooze", response_model=AlertChangePublic)
def snooze(
    body: SnoozeIn, scope: AlertDep, conn: ConnDep, service: ServiceDep, request: Request
) -> AlertChangePublic:
    until = datetime.now(UTC) + timedelta(minutes=body.minutes)
    change = service.snooze(
        conn, alert_id=scope.alert_id, user_id=scope.principal.user_id, until=until, note=body.note
    )
    return change_public(change, request)


@router.post("/{alert_id}/resolve", response_model=AlertChangePublic)
def resolve(
    body: ResolveIn, scope: AlertDep, conn: ConnDep, service: ServiceDep, request: Request
) -> AlertChangePublic:
    """Resolve with an outcome: the alarm-burden report counts them."""
    change = service.resolve(
        conn,
        alert_id=scope.alert_id,
        user_id=scope.principal.user_id,
        outcome=Outcome(body.outcome),
        note=body.note,
    )
    return change_public(change, request)


@router.post("/{alert_id}/comments", response_model=AlertChangePublic)
def comment(
    body: CommentIn, scope: AlertDep, conn: ConnDep, service: ServiceDep, request: Request
) -> AlertChangePublic:
    change = service.comment(
        conn, alert_id=scope.alert_id, user_id=scope.principal.user_id, note=body.note
    )
    return change_public(change, request)


@router.post("/{alert_id}/assign", response_model=AlertChangePublic)
def assign(
    body: AssignIn, scope: AlertDep, conn: ConnDep, service: ServiceDep, request: Request
) -> AlertChangePublic:
    """Assign to an admin or clinician of your tenant (404 for anyone else), or unassign."""
    if body.user_id is not None and not identity.staff_in_tenant(
        conn, user_id=body.user_id, tenant_id=scope.principal.tenant_id
    ):
        raise NotFound(f"no staff member {body.user_id} in your clinic")
    change = service.assign(
        conn, alert_id=scope.alert_id, user_id=scope.principal.user_id, assignee=body.user_id
    )
    return change_public(change, request)
