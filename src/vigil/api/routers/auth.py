"""Sign in: e-mail and password for an opaque bearer token, or a browser session; sign out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from vigil.api import repo
from vigil.api.audit import audit_allowed
from vigil.api.deps import (
    BearerDep,
    Conn,
    ConnDep,
    CurrentUser,
)
from vigil.api.errors import ApiError, ErrorResponse, TooManyAttempts, Unauthenticated
from vigil.api.models import MePublic, SessionPublic, TokenPublic, TokenRequest
from vigil.api.security import DUMMY_HASH, new_token, token_digest, verify_password
from vigil.api.sessions import end_session, start_session
from vigil.api.state import state_of
from vigil.api.throttle import SignInThrottle

router = APIRouter(tags=["auth"])

TOKEN_LIFETIME = timedelta(hours=12)


@router.post(
    "/auth/token",
    response_model=TokenPublic,
    responses={429: {"model": ErrorResponse, "description": "too many failed sign-ins"}},
)
def issue_token(body: TokenRequest, conn: ConnDep, request: Request) -> TokenPublic:
    """Exchange an e-mail and password for a bearer token valid for 12 hours.

    Failed attempts make the next ones wait (429 with ``Retry-After``; vigil.api.throttle);
    refusals are in the audit log, attributed to the account's tenant when it is known."""
    token, expires_at = _sign_in(body, conn, request)
    return TokenPublic(access_token=token, expires_at=expires_at)


@router.post(
    "/auth/session",
    response_model=SessionPublic,
    responses={429: {"model": ErrorResponse, "description": "too many failed sign-ins"}},
)
def start_browser_session(
    body: TokenRequest, conn: ConnDep, request: Request, response: Response
) -> SessionPublic:
    """Sign a browser in: the token goes into an HttpOnly, SameSite=Strict cookie (Secure
    over TLS) that no script can read, never into the response body. Requests that change
    anything must then send ``X-CSRF-Token`` (also in the readable ``vigil_csrf`` cookie).
    Throttled and audited as ``/auth/token``."""
    token, expires_at = _sign_in(body, conn, request)
    csrf = start_session(request, response, token=token, expires_at=expires_at)
    return SessionPublic(csrf_token=csrf, expires_at=expires_at)


def _sign_in(body: TokenRequest, conn: Conn, request: Request) -> tuple[str, datetime]:
    throttle: SignInThrottle = state_of(request.app).sign_in_throttle
    address = request.client.host if request.client else "unknown"
    found = repo.user_for_login(conn, email=body.email)
    wait = throttle.retry_after_s(account=body.email, address=address)
    if wait:
        raise _refuse_sign_in(conn, request, TooManyAttempts(wait), found, address)
    hashed = found[1] if found else DUMMY_HASH
    if not verify_password(body.password, hashed) or found is None:
        throttle.failed(account=body.email, address=address)
        error = Unauthenticated("wrong e-mail or password")
        raise _refuse_sign_in(conn, request, error, found, address)
    throttle.succeeded(account=body.email, address=address)
    token = new_token()
    expires_at = datetime.now(UTC) + TOKEN_LIFETIME
    digest = token_digest(token)
    repo.store_token(conn, digest=digest, user_id=found[0], expires_at=expires_at)
    signed_in = repo.principal_for_token(conn, digest=digest)
    assert signed_in is not None
    audit_allowed(conn, request, signed_in[0], patient_id=None)
    return token, expires_at


def _refuse_sign_in(
    conn: Conn,
    request: Request,
    error: ApiError,
    found: tuple[UUID, str, UUID] | None,
    address: str,
) -> ApiError:
    """Record a refused sign-in (committed now), visible to the account's tenant's admins."""
    conn.execute("SET LOCAL synchronous_commit = off")
    repo.record_audit(
        conn,
        principal=None,
        action="issue_token",
        method=request.method,
        path=request.url.path,
        patient_id=None,
        allowed=False,
        status=error.status,
        detail={
            "reason": str(error),
            "account_user_id": str(found[0]) if found else None,
            "address": address,
        },
        tenant_id=found[2] if found else None,
    )
    conn.commit()
    return error


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    conn: ConnDep,
    user: CurrentUser,
    credentials: BearerDep,
    request: Request,
    response: Response,
) -> None:
    """Revoke the token used for this request (a browser's session cookie included, which is
    cleared). Its open alert streams end at their next re-check."""
    assert credentials is not None
    digest = token_digest(credentials.credentials)
    repo.revoke_token(conn, digest=digest)
    state_of(request.app).tokens.drop(digest)
    end_session(request, response)


@router.get("/me", response_model=MePublic)
def me(user: CurrentUser) -> MePublic:
    """Who the token belongs to."""
    return MePublic(
        id=user.user_id,
        tenant_id=user.tenant_id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        patient_id=user.patient_id,
    )
