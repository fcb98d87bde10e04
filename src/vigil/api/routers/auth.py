"""Sign in: e-mail and password for an opaque bearer token; sign out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, status

from vigil.api import repo
from vigil.api.deps import BearerDep, ConnDep, CurrentUser, audit_allowed, refuse
from vigil.api.errors import Unauthenticated
from vigil.api.models import MePublic, TokenPublic, TokenRequest
from vigil.api.security import DUMMY_HASH, new_token, token_digest, verify_password

router = APIRouter(tags=["auth"])

TOKEN_LIFETIME = timedelta(hours=12)


@router.post("/auth/token", response_model=TokenPublic)
def issue_token(body: TokenRequest, conn: ConnDep, request: Request) -> TokenPublic:
    """Exchange an e-mail and password for a bearer token valid for 12 hours."""
    found = repo.user_for_login(conn, email=body.email)
    hashed = found[1] if found else DUMMY_HASH
    if not verify_password(body.password, hashed) or found is None:
        raise refuse(conn, request, None, Unauthenticated("wrong e-mail or password"))
    token = new_token()
    expires_at = datetime.now(UTC) + TOKEN_LIFETIME
    digest = token_digest(token)
    repo.store_token(conn, digest=digest, user_id=found[0], expires_at=expires_at)
    signed_in = repo.principal_for_token(conn, digest=digest)
    assert signed_in is not None
    audit_allowed(conn, request, signed_in[0], patient_id=None)
    return TokenPublic(access_token=token, expires_at=expires_at)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(conn: ConnDep, user: CurrentUser, credentials: BearerDep, request: Request) -> None:
    """Revoke the token used for this request."""
    assert credentials is not None
    digest = token_digest(credentials.credentials)
    repo.revoke_token(conn, digest=digest)
    request.app.state.tokens.drop(digest)


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
