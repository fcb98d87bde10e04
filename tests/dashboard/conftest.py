"""One dashboard server and one chromium for each browser-test module: ``base`` serves the
module's own ``world`` (a module overrides ``world`` with the data it needs), and
``signed_in`` opens a browser context with a clinic user's session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.api.conftest import PASSWORD, LiveServer, World, build_world, make_app
from tests.browser import ARGS, CHROMIUM
from tests.conftest import new_database
from vigil.servers import EmbeddedPostgres


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        yield build_world(url)


@pytest.fixture(scope="module")
def base(world: World) -> Iterator[str]:
    with LiveServer(make_app(world.db_url)) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def signed_in(
    browser: Browser, base: str, world: World, who: str, *, height: int = 860, **kw: Any
) -> BrowserContext:
    context = browser.new_context(viewport={"width": 1280, "height": height}, **kw)
    r = context.request.post(
        f"{base}/api/v1/auth/session",
        data={"email": f"{who}.{world.a.id.hex[:6]}@clinic.example", "password": PASSWORD},
    )
    assert r.ok, r.text()
    return context
