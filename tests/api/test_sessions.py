"""Browser sessions over real HTTP: the cookie's attributes, CSRF on every change, sign-out
ending the cookie and the open alert stream; bearer clients unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import Response
from starlette.requests import Request

from tests.api.conftest import PASSWORD, LiveServer, World, make_app
from tests.api.sse import SseReader
from vigil.api import sessions
from vigil.api.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, start_session
from vigil.api.state import state_of

pytestmark = pytest.mark.integration


@pytest.fixture
def app_and_base(world: World) -> Iterator[tuple[Any, str]]:
    app = make_app(world.db_url)
    state_of(app).stream_recheck_s = 0.3
    with LiveServer(app) as url:
        yield app, url


def sign_in(base: str, world: World, who: str = "admin") -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, timeout=10)
    r = client.post(
        "/api/v1/auth/session",
        json={"email": f"{who}.{world.a.id.hex[:6]}@clinic.example", "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return client, r


def test_the_session_cookie_is_httponly_strict_and_carries_no_token_in_the_body(
    app_and_base: tuple[Any, str], world: World
) -> None:
    _, base = app_and_base
    client, r = sign_in(base, world)
    with closing(client):
        assert "access_token" not in r.json()
        cookies = {c.split("=", 1)[0]: c for c in r.headers.get_list("set-cookie")}
        session = cookies[SESSION_COOKIE].lower()
        assert "httponly" in session
        assert "samesite=strict" in session
        assert "path=/api/v1" in session
        assert "max-age=43" in session  # 12 h: 43,200 s (less the request's own time)
        assert "secure" not in session  # plain HTTP here; Secure over TLS (below)
        csrf = cookies[CSRF_COOKIE].lower()
        assert "httponly" not in csrf  # the page reads it
        assert "samesite=strict" in csrf
        assert r.json()["csrf_token"] == client.cookies[CSRF_COOKIE]
        assert client.get("/api/v1/me").json()["role"] == "admin"


def test_changes_need_the_csrf_header(app_and_base: tuple[Any, str], world: World) -> None:
    _, base = app_and_base
    client, r = sign_in(base, world)
    csrf = r.json()["csrf_token"]
    with closing(client):
        for headers in ({}, {CSRF_HEADER: "0" * 64}, {CSRF_HEADER: ""}):
            r = client.post("/api/v1/care-teams", json={"name": "Forged"}, headers=headers)
            assert r.status_code == 403, headers
        assert client.get("/api/v1/care-teams").json()[0]["name"] == "Respiratory"
        r = client.post("/api/v1/care-teams", json={"name": "Night"}, headers={CSRF_HEADER: csrf})
        assert r.status_code == 201, r.text
        assert sorted(t["name"] for t in client.get("/api/v1/care-teams").json()) == [
            "Night",
            "Respiratory",
        ]
    # A bearer client sends no CSRF header and needs none.
    r = httpx.post(
        f"{base}/api/v1/care-teams", json={"name": "API"}, headers=world.headers("admin")
    )
    assert r.status_code == 201


def test_sign_out_ends_the_cookie_and_the_open_stream(
    app_and_base: tuple[Any, str], world: World
) -> None:
    _, base = app_and_base
    client, r = sign_in(base, world, "clinician")
    csrf = r.json()["csrf_token"]
    token = client.cookies[SESSION_COOKIE]
    cookie = {"Cookie": f"{SESSION_COOKIE}={token}"}
    with closing(client), SseReader(f"{base}/api/v1/alerts/stream", cookie, read_timeout=60) as sse:
        assert sse.status == 200
        r = client.post("/api/v1/auth/logout", headers={CSRF_HEADER: csrf})
        assert r.status_code == 204
        cleared = " ".join(r.headers.get_list("set-cookie")).lower()
        assert f'{SESSION_COOKIE}="";' in cleared or f"{SESSION_COOKIE}=;" in cleared
        assert "max-age=0" in cleared
        assert SESSION_COOKIE not in client.cookies
        deadline = time.monotonic() + 20
        while sse.thread.is_alive():
            assert time.monotonic() < deadline, "the stream outlived its session"
            time.sleep(0.05)
        assert sse.ended_by_server
    # The old cookie is worthless now.
    assert httpx.get(f"{base}/api/v1/me", headers=cookie).status_code == 401


def test_secure_over_tls() -> None:
    """The cookie builder marks both cookies Secure when the request came over TLS."""
    assert sessions.csrf_token("a") != sessions.csrf_token("b")
    scope = {"type": "http", "scheme": "https", "path": "/", "headers": [], "server": ("x", 443)}
    response = Response()
    start_session(
        Request(scope),
        response,
        token="vgl_x",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    cookies = response.headers.getlist("set-cookie")
    assert len(cookies) == 2
    assert all("secure" in c.lower() for c in cookies)
