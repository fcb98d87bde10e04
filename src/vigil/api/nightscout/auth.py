"""Who is calling the Nightscout API: a device, by its API secret, access token or JWT.

- v1: header ``api-secret`` (the lowercase hex SHA-1 of the secret, or its SHA-512; or
  ``token=<access token>`` as some followers send), or ``?token=<access token>``, or a JWT;
- v2: ``GET /api/v2/authorization/request/{access token}`` answers a JWT (HS256, signed with
  a key kept in the database so every API process accepts it);
- v3: the JWT only, as ``Authorization: Bearer``.

A wrong or revoked credential is a 401; failures are throttled like sign-ins
(:mod:`vigil.api.throttle`): an address that keeps guessing waits, 429 with Retry-After. A
device sees only its own patient's documents.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import jwt
from fastapi import Depends, Header, Query, Request

from vigil.api.deps import ConnDep
from vigil.api.errors import Forbidden, TooManyAttempts, Unauthenticated
from vigil.api.nightscout import repo
from vigil.api.state import state_of
from vigil.storage.nightscout import digest

JWT_TTL_S = 8 * 3600
"""How long an API v3 token lasts (Nightscout's own default); clients ask for a new one."""
JWT_ALGORITHM = "HS256"
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_HEX128 = re.compile(r"^[0-9a-fA-F]{128}$")


@dataclass(frozen=True, slots=True)
class NsCaller:
    device_id: str
    patient_id: UUID | None

    def patient(self) -> UUID:
        """The patient whose data this device may read (403 when it has none now)."""
        if self.patient_id is None:
            raise Forbidden(f"device {self.device_id!r} is not assigned to a patient")
        return self.patient_id


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


def issue_jwt(conn: Any, device_id: str) -> tuple[str, int, int]:
    now = int(time.time())
    claims = {"sub": device_id, "iat": now, "exp": now + JWT_TTL_S, "iss": "vigil-nightscout"}
    return jwt.encode(claims, repo.signing_key(conn), algorithm=JWT_ALGORITHM), now, now + JWT_TTL_S


def _from_jwt(conn: Any, token: str) -> repo.Uploader | None:
    try:
        claims = jwt.decode(
            token,
            repo.signing_key(conn),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["sub", "exp", "iat"]},
            issuer="vigil-nightscout",
        )
    except jwt.InvalidTokenError:
        return None
    sub = claims.get("sub")
    return repo.uploader_by_device(conn, device_id=sub) if isinstance(sub, str) else None


def _from_secret(conn: Any, secret: str) -> repo.Uploader | None:
    if secret.startswith("token="):
        return repo.uploader_by_credential(conn, column="token", digest=digest(secret[6:]))
    if _HEX40.match(secret):
        return repo.uploader_by_credential(
            conn, column="secret_sha1", digest=digest(secret.lower())
        )
    if _HEX128.match(secret):
        return repo.uploader_by_credential(
            conn, column="secret_sha512", digest=digest(secret.lower())
        )
    return None


def _resolve(
    conn: Any,
    request: Request,
    *,
    bearer: str | None,
    secret: str | None,
    token: str | None,
    jwt_only: bool,
) -> NsCaller:
    address = _address(request)
    throttle = state_of(request.app).sign_in_throttle
    account = f"nightscout@{address}"
    wait = throttle.retry_after_s(account=account, address=address)
    if wait:
        raise TooManyAttempts(wait)
    found: repo.Uploader | None = None
    offered = False
    if bearer is not None:
        offered = True
        found = _from_jwt(conn, bearer)
    elif not jwt_only and secret is not None:
        offered = True
        found = _from_secret(conn, secret.strip()[:200])
    elif not jwt_only and token is not None:
        offered = True
        found = repo.uploader_by_credential(conn, column="token", digest=digest(token[:200]))
    if found is None:
        if offered:
            throttle.failed(account=account, address=address)
        raise Unauthenticated(
            "a valid JWT is required (GET /api/v2/authorization/request/<token>)"
            if jwt_only
            else "a valid api-secret, access token or JWT is required"
        )
    request.state.audited = True  # a device, not a user: ingest's own records keep uploads
    return NsCaller(found.device_id, found.patient_id)


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def v1_caller(
    conn: ConnDep,
    request: Request,
    api_secret: Annotated[str | None, Header(alias="api-secret")] = None,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> NsCaller:
    return _resolve(
        conn,
        request,
        bearer=_bearer(authorization),
        secret=api_secret,
        token=token,
        jwt_only=False,
    )


def v3_caller(
    conn: ConnDep,
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> NsCaller:
    return _resolve(
        conn, request, bearer=_bearer(authorization), secret=None, token=None, jwt_only=True
    )


V1Caller = Annotated[NsCaller, Depends(v1_caller)]
V3Caller = Annotated[NsCaller, Depends(v3_caller)]


def token_caller(conn: Any, request: Request, token: str) -> NsCaller:
    """The device an access token belongs to (for the JWT exchange)."""
    return _resolve(conn, request, bearer=None, secret=None, token=token, jwt_only=False)
