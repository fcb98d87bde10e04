"""A request meets a database outage with a 503 within the configured database timeout, never
a hang: the API's pool bounds its wait for a connection, a connection attempt and a statement
(psycopg_pool's own default wait is 30 s)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.api.conftest import LiveServer, World
from tests.proxy import TcpProxy
from tests.waiting import wait_for
from vigil.api import create_app
from vigil.settings import Settings
from vigil.storage import create_pool

pytestmark = pytest.mark.integration

TIMEOUT_S = 2.0


def test_a_database_outage_is_a_503_within_the_timeout(world: World) -> None:
    proxy = TcpProxy.for_url(world.db_url)
    url = proxy.url_for(world.db_url)
    settings = Settings(
        database_url=url, api_db_timeout_s=TIMEOUT_S, metrics_token=SecretStr("scrape-token")
    )
    pool: Any = create_pool(url, min_size=1, max_size=2, timeout_s=settings.api_db_timeout_s)
    try:
        # The client gives up well after the bound: a hang fails the test, a 503 passes it.
        with (
            LiveServer(create_app(settings, pool)) as base,
            httpx.Client(base_url=base, timeout=TIMEOUT_S + 15) as client,
        ):
            assert client.get("/api/v1/me", headers=world.headers("admin")).status_code == 200
            proxy.cut()
            answers = []
            for _ in range(3):
                started = time.monotonic()
                r = client.get("/api/v1/patients", headers=world.headers("admin"))
                answers.append((r.status_code, round(time.monotonic() - started, 1)))
            print(f"\n  during the outage (status, seconds): {answers}")
            assert [status for status, _ in answers] == [503, 503, 503]
            assert r.json()["error"]["code"] == "unavailable"
            assert r.headers["Retry-After"] == "5"
            proxy.restore()
            wait_for(
                lambda: (
                    client.get("/api/v1/patients", headers=world.headers("admin")).status_code
                    == 200
                ),
                "the pool reconnected by itself",
            )
    finally:
        proxy.close()


def test_the_setting_bounds_the_pool() -> None:
    pool: Any = create_pool("postgresql://x@127.0.0.1:1/x", timeout_s=3.0)
    assert pool.timeout == 3.0
    assert pool.kwargs["connect_timeout"] == 3
    assert pool.kwargs["options"] == "-c statement_timeout=3000"
