"""Security headers read off every operation of the OpenAPI document and every page, as an
admin and anonymously, whatever the status; and the pages carry no inline script or style."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import LiveServer, World, make_app
from vigil.api.edge import CSP
from vigil.settings import Settings

pytestmark = pytest.mark.integration

STATIC = Path(__file__).parents[2] / "src" / "vigil" / "api"
PAGES = ("/", "/feed", "/triage", "/patients/{patient_id}")


@pytest.fixture
def base(world: World) -> Iterator[str]:
    settings = Settings(database_url=world.db_url, api_openapi=True)
    with LiveServer(make_app(world.db_url, settings=settings)) as url:
        yield url


def check(r: httpx.Response, *, asset: bool = False) -> None:
    where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
    h = r.headers
    assert h.get("content-security-policy") == CSP, where
    assert "frame-ancestors 'none'" in h["content-security-policy"], where
    assert h.get("x-frame-options") == "DENY", where
    assert h.get("referrer-policy") == "no-referrer", where
    assert h.get("x-content-type-options") == "nosniff", where
    assert "server" not in h, where
    assert "strict-transport-security" not in h, where  # plain HTTP here
    if not asset:
        assert h.get("cache-control") == "no-store", where


def fill(path: str, world: World) -> str:
    values = {
        "patient_id": str(world.a.patient),
        "team_id": str(world.a.team),
        "alert_id": str(uuid.uuid4()),
        "device_id": "no-such-device",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_every_route_and_page_carries_the_headers(world: World, base: str) -> None:
    spec = httpx.get(f"{base}/api/v1/openapi.json").json()
    operations = [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]
    # Signing out last: it revokes the token the others use.
    operations.sort(key=lambda op: op[1].endswith("/logout"))
    checked = 0
    with httpx.Client(base_url=base, timeout=15) as client:
        for who in ("anonymous", "admin"):
            headers = {} if who == "anonymous" else world.headers("admin")
            for method, path in operations:
                body = {} if method in ("POST", "PUT", "PATCH") else None
                url = fill(path, world)
                with client.stream(method, url, headers=headers, json=body) as r:
                    check(r)  # the stream's headers; its body is never read
                checked += 1
        for page in PAGES:
            r = client.get(fill(page, world))
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/html")
            check(r)
            checked += 1
        for asset in re.findall(r'(?:src|href)="(/[^"]+\.(?:js|css))"', _all_pages(client)):
            r = client.get(asset)
            assert r.status_code == 200, asset
            check(r, asset=True)
            checked += 1
        for extra in ("/nowhere", "/health", "/ready"):
            check(client.get(extra))
            checked += 1
    print(
        f"security headers checked on {len(operations)} operations x 2 callers, "
        f"{len(PAGES)} pages and their assets: {checked} responses"
    )
    assert len(operations) > 40


def _all_pages(client: httpx.Client) -> str:
    return "".join(client.get(p.replace("{patient_id}", str(uuid.uuid4()))).text for p in PAGES)


def test_the_pages_carry_no_inline_script_or_style() -> None:
    pages = [*(STATIC / "web" / "templates").glob("**/*.html")]
    assert len(pages) >= 5
    for page in pages:
        html = re.sub(r"\{#.*?#\}", "", page.read_text(), flags=re.S)  # template comments
        # Scripts only from files; the one inline element is data (the page's messages).
        assert not re.search(
            r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", html
        ), page.name
        assert "<style" not in html, page.name
        assert not re.search(r"\sstyle=", html), page.name
        assert not re.search(r"\son[a-z]+=", html), page.name
