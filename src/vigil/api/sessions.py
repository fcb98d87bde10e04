"""Browser sessions: the dashboard's token lives in an HttpOnly, SameSite=Strict cookie
(Secure when served over TLS) that no script on the page can read; API clients keep sending
``Authorization: Bearer``.

CSRF: a request authenticated by the cookie that changes anything must carry
``X-CSRF-Token``, a value derived from the session token (so it cannot be guessed without
it) that the page reads from a second, script-readable cookie. A cross-site page can neither
read that cookie nor set the header; SameSite=Strict already keeps the session cookie off
cross-site requests, so this is the second lock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from fastapi import Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from vigil.api.errors import Forbidden

SESSION_COOKIE = "vigil_session"
CSRF_COOKIE = "vigil_csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_PATH = "/api/v1"
"""The session cookie goes to the API only; the CSRF cookie to every page (which read it)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str) -> str:
    """The CSRF value of a session: derived from its (secret) token, nothing stored.

    >>> csrf_token("vgl_a") == csrf_token("vgl_a") != csrf_token("vgl_b")
    True
    """
    return hashlib.sha256(b"vigil-csrf\x00" + session_token.encode()).hexdigest()


class SessionOrBearer(HTTPBearer):
    """The caller's token: from ``Authorization: Bearer`` if sent, else from the session
    cookie (checking the CSRF header on anything but a read). None when neither is there."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        if "authorization" in request.headers:
            return await super().__call__(request)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        if request.scope.get("method") not in SAFE_METHODS:
            given = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(given.encode(), csrf_token(token).encode()):
                raise Forbidden(f"a signed-in browser must send the {CSRF_HEADER} header")
        return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


def start_session(request: Request, response: Response, *, token: str, expires_at: datetime) -> str:
    """Set the session and CSRF cookies (ending with the token); returns the CSRF value."""
    secure = request.url.scheme == "https"
    max_age = max(int((expires_at - _now(expires_at)).total_seconds()), 0)
    csrf = csrf_token(token)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=SESSION_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=secure, samesite="strict"
    )
    return csrf


def end_session(request: Request, response: Response) -> None:
    secure = request.url.scheme == "https"
    response.delete_cookie(
        SESSION_COOKIE, path=SESSION_PATH, secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")


def _now(like: datetime) -> datetime:
    return datetime.now(like.tzinfo)
