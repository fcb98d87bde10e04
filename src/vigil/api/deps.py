"""Request dependencies as ``Annotated`` aliases: a connection, the caller, what they may see.

Every decision is audited through :mod:`vigil.api.audit`: allowed reads and changes in the
request's transaction (so a change and its audit row commit together), refusals committed at
once (so a refused attempt is recorded even though the request fails).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import psycopg
from anyio import to_thread
from fastapi import Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from psycopg_pool import AsyncConnectionPool

from vigil.api import repo
from vigil.api.access import API_ROLE, Principal
from vigil.api.audit import action_of, audit_allowed, audit_change, refuse
from vigil.api.clinical_repo import JsonQuery
from vigil.api.errors import Forbidden, Unauthenticated
from vigil.api.reads import AccessGate, ReadCheck
from vigil.api.security import token_digest
from vigil.api.sessions import SessionOrBearer
from vigil.api.shortcut import Shortcut
from vigil.api.state import state_of
from vigil.api.tokens import TokenCache
from vigil.api.transaction import commit
from vigil.core.errors import NotFound

Conn = psycopg.Connection[Any]

_bearer = SessionOrBearer(
    auto_error=False,
    description="Token from POST /api/v1/auth/token (or a browser's session cookie)",
)


_READ_SETUP = f"SET LOCAL ROLE {API_ROLE}; SET LOCAL synchronous_commit = off"
_WRITE_SETUP = f"SET LOCAL ROLE {API_ROLE}"


async def _db_slot(request: Request) -> AsyncIterator[None]:
    """Wait for a pool slot in the event loop, not in a worker thread.

    Sync dependencies and endpoints run in a thread pool: if more requests than the pool has
    connections each held a thread while waiting for a connection, the requests holding the
    connections could find no thread to finish in, and everything would stall until the
    pool's timeout. Admitting only as many requests as there are connections avoids that.
    """
    async with state_of(request.app).request_slots:
        yield


def get_conn(
    request: Request, _slot: Annotated[None, Depends(_db_slot, scope="function")]
) -> Iterator[Conn]:
    """One connection and one transaction per request, running as the API's database role,
    committed when the endpoint returns and before its response is sent (``ConnDep`` has
    ``scope="function"``; see :mod:`vigil.api.transaction`): a client told a change is done
    finds it on its next request, and a commit that fails answers an error, not a 2xx.

    A read's only write is its audit row: its commit does not wait for the WAL flush (the
    WAL writer flushes it within a fraction of a second; a database crash in that window can
    lose the audit rows of the last reads, never data). Changes commit synchronously.
    """
    read = request.method in ("GET", "HEAD")
    with state_of(request.app).request_pool.connection() as conn:
        conn.execute(_READ_SETUP if read else _WRITE_SETUP)
        yield conn
        if not read:
            audit_change(conn, request)
        commit(conn, action=action_of(request))
    if not read:
        # Committed: this process's cached reads may predate the change (vigil.api.reads).
        state_of(request.app).read_cache.drop_lists()


ConnDep = Annotated[Conn, Depends(get_conn, scope="function")]
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def authenticate(conn: Conn, request: Request, credentials: BearerDep) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise refuse(conn, request, None, Unauthenticated())
    digest = token_digest(credentials.credentials)
    cache: TokenCache = state_of(request.app).tokens
    principal = cache.get(digest)
    if principal is None:
        found = repo.principal_for_token(conn, digest=digest)
        if found is None:
            raise refuse(conn, request, None, Unauthenticated("the token is unknown or expired"))
        principal, expires_in_s = found
        cache.put(digest, principal, expires_in_s=expires_in_s)
    request.state.principal = principal
    return principal


def get_principal(conn: ConnDep, request: Request, credentials: BearerDep) -> Principal:
    """The signed-in caller (401, audited, otherwise).

    A plain ``def``, like every dependency that may touch the database: FastAPI runs it in a
    worker thread, so a token-cache miss (a query) or a refusal (a commit) never blocks the
    event loop, and with it every SSE stream and live read of the process."""
    return authenticate(conn, request, credentials)


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require_staff(conn: Conn, request: Request, principal: Principal) -> Principal:
    if not principal.is_staff:
        raise refuse(conn, request, principal, Forbidden("this endpoint is for care teams"))
    return principal


def get_staff(conn: ConnDep, request: Request, credentials: BearerDep) -> Principal:
    # Authenticates itself rather than depending on get_principal: one worker thread, not two.
    return require_staff(conn, request, authenticate(conn, request, credentials))


def get_admin(conn: ConnDep, request: Request, credentials: BearerDep) -> Principal:
    principal = authenticate(conn, request, credentials)
    if not principal.is_admin:
        raise refuse(conn, request, principal, Forbidden("this endpoint is for administrators"))
    return principal


StaffUser = Annotated[Principal, Depends(get_staff)]
AdminUser = Annotated[Principal, Depends(get_admin)]


@dataclass(frozen=True, slots=True)
class PatientScope:
    principal: Principal
    patient_id: UUID


def scope_patient(
    conn: Conn, request: Request, principal: Principal, patient_id: UUID | None, *, named: str
) -> PatientScope:
    """The patient if the principal may see them (audited), else a 404 (audited): ``None``
    (an id that does not parse) is refused like a patient who is not there."""
    if patient_id is None or not repo.patient_visibility(
        conn, principal=principal, patient_id=patient_id
    ):
        raise refuse(
            conn,
            request,
            principal,
            NotFound(f"no patient {named} that you may see"),
            patient_id=patient_id,
        )
    audit_allowed(conn, request, principal, patient_id=patient_id)
    return PatientScope(principal, patient_id)


def get_patient_scope(
    conn: ConnDep,
    request: Request,
    principal: StaffUser,
    patient_id: Annotated[UUID, Path(description="The patient")],
) -> PatientScope:
    return scope_patient(conn, request, principal, patient_id, named=str(patient_id))


PatientDep = Annotated[PatientScope, Depends(get_patient_scope)]


@dataclass(frozen=True, slots=True)
class AlertScope:
    principal: Principal
    alert_id: UUID
    patient_id: UUID


def get_alert_scope(
    conn: ConnDep,
    request: Request,
    principal: StaffUser,
    alert_id: Annotated[UUID, Path(description="The alert")],
) -> AlertScope:
    patient_id = repo.alert_patient(conn, alert_id=alert_id)
    if patient_id is None or not repo.patient_visibility(
        conn, principal=principal, patient_id=patient_id
    ):
        raise refuse(
            conn,
            request,
            principal,
            NotFound(f"no alert {alert_id} that you may see"),
            patient_id=patient_id,
        )
    audit_allowed(conn, request, principal, patient_id=patient_id)
    return AlertScope(principal, alert_id, patient_id)


AlertDep = Annotated[AlertScope, Depends(get_alert_scope)]


def get_patient_user(conn: ConnDep, request: Request, principal: CurrentUser) -> PatientScope:
    """The caller's own patient record (``/me``): for users with the patient role."""
    if principal.patient_id is None:
        raise refuse(conn, request, principal, Forbidden("this endpoint is for patients"))
    audit_allowed(conn, request, principal, patient_id=principal.patient_id)
    return PatientScope(principal, principal.patient_id)


MePatientDep = Annotated[PatientScope, Depends(get_patient_user)]


def check_patient_filter(
    conn: Conn, request: Request, principal: Principal, patient_id: UUID | None
) -> None:
    """A ``patient_id`` filter must name a patient the caller may see (refused and audited)."""
    if patient_id is not None and not repo.patient_visibility(
        conn, principal=principal, patient_id=patient_id
    ):
        error = NotFound(f"no patient {patient_id} that you may see")
        raise refuse(conn, request, principal, error, patient_id=patient_id)


def check_alert_filter(
    conn: Conn, request: Request, principal: Principal, alert_id: UUID | None
) -> None:
    if alert_id is None:
        return
    patient_id = repo.alert_patient(conn, alert_id=alert_id)
    if patient_id is None or not repo.patient_visibility(
        conn, principal=principal, patient_id=patient_id
    ):
        error = NotFound(f"no alert {alert_id} that you may see")
        raise refuse(conn, request, principal, error, patient_id=patient_id)


# -- the live reads (vigil.api.reads): no worker thread unless the database is needed ---------


def _staff_from_database(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    with state_of(request.app).request_pool.connection() as conn:
        conn.execute(_READ_SETUP)
        return require_staff(conn, request, authenticate(conn, request, credentials))


async def get_staff_cached(request: Request, credentials: BearerDep) -> Principal:
    """:func:`get_staff` for the live reads: a token already checked costs no thread and no
    query; anything else (unknown token, refusal) takes the ordinary path."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        cache: TokenCache = state_of(request.app).tokens
        digest = token_digest(credentials.credentials)
        principal = cache.get(digest)
        if principal is not None and principal.is_staff:
            request.state.principal = principal
            request.state.token_digest = digest  # for the short way (vigil.api.shortcut)
            return principal
    async with state_of(request.app).request_slots:
        return await to_thread.run_sync(_staff_from_database, request, credentials)


CachedStaffUser = Annotated[Principal, Depends(get_staff_cached)]


async def authorise_read(
    request: Request,
    principal: Principal,
    *,
    patient_id: UUID | None = None,
    team_id: UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Decide and audit one read through the app's :class:`~vigil.api.reads.AccessGate`;
    raise NotFound (already audited) when the patient or team is not the caller's."""
    if patient_id is not None:
        refusal = f"no patient {patient_id} that you may see"
    else:
        refusal = f"no care team {team_id} of yours"
    gate: AccessGate = state_of(request.app).access_gate
    check = ReadCheck(
        principal=principal,
        action=action_of(request),
        path=request.url.path,
        patient_id=patient_id,
        team_id=team_id,
        detail=detail or {},
        refusal=refusal,
    )
    if not await gate.check(check):
        raise NotFound(refusal)
    request.state.read_check = check  # for the short way (vigil.api.shortcut)


async def get_patient_read(
    request: Request,
    principal: CachedStaffUser,
    patient_id: Annotated[UUID, Path(description="The patient")],
) -> PatientScope:
    """:func:`get_patient_scope` for the live reads, decided by the access gate. A dependency,
    so the decision (and its audit row) comes before the endpoint's own parameters are
    checked: a refused caller learns nothing from a validation error."""
    await authorise_read(request, principal, patient_id=patient_id)
    return PatientScope(principal, patient_id)


PatientReadDep = Annotated[PatientScope, Depends(get_patient_read)]


async def cached_read(
    request: Request,
    key: Hashable,
    query: Callable[[], JsonQuery],
    *,
    ttl_s: float | None = None,
    patient_id: UUID | None = None,
    transform: Callable[[bytes], bytes] | None = None,
) -> Response:
    """The JSON response of a live read: its body from the app's
    :class:`~vigil.api.reads.ReadCache`, or ``query()``'s statement run on the live reads' pool
    (as the API's role); gzip-encoded, once per cached body, for clients that accept it."""

    async def compute() -> bytes:
        pool: AsyncConnectionPool[Any] = state_of(request.app).live_read_pool
        async with pool.connection() as conn:
            cursor = await conn.execute(*query())
            row = await cursor.fetchone()
        assert row is not None
        body = str(row[0]).encode()
        return body if transform is None else transform(body)

    state = state_of(request.app)
    body = await state.read_cache.get(key, compute, ttl_s=ttl_s, patient_id=patient_id)
    _note_short_way(request, key, patient_id, cached=body.cached)
    content, gzipped = body.for_client(request.headers.get("accept-encoding", ""))
    headers = {"Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(content, media_type="application/json", headers=headers)


def _note_short_way(
    request: Request, key: Hashable, patient_id: UUID | None, *, cached: bool
) -> None:
    """Let the next request like this one take the short way (vigil.api.shortcut): when its
    caller came from the token cache and the gate decided its read (never a refusal)."""
    digest = getattr(request.state, "token_digest", None)
    check = getattr(request.state, "read_check", None)
    if not cached or digest is None or check is None:
        return
    way = Shortcut(digest, check.principal, check, key, patient_id)
    state_of(request.app).shortcuts.note(request.scope, way)
