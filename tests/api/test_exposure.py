"""What is open without signing in: not the metrics (every tenant's counts) unless scraped
with the token, not the OpenAPI document unless switched on."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from tests.api.conftest import LiveServer, World, make_app
from vigil.settings import Settings

pytestmark = pytest.mark.integration


def test_by_default_neither_metrics_nor_the_api_document_are_served(world: World) -> None:
    with LiveServer(make_app(world.db_url, settings=Settings(database_url=world.db_url))) as base:
        for path in ("/metrics", "/api/v1/openapi.json", "/api/v1/docs", "/docs", "/redoc"):
            r = httpx.get(f"{base}{path}", headers=world.headers("admin"))
            assert r.status_code == 404, path
        assert httpx.get(f"{base}/health").status_code == 200


def test_metrics_need_the_scrape_token(world: World) -> None:
    settings = Settings(database_url=world.db_url, metrics_token=SecretStr("s3cret-scrape"))
    with LiveServer(make_app(world.db_url, settings=settings)) as base:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Bearer s3cret-scrape-and-more"},
            world.headers("admin"),  # a user's token is not the scrape token
        ):
            r = httpx.get(f"{base}/metrics", headers=headers)
            assert r.status_code == 401, headers
            assert "vigil_" not in r.text
        r = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret-scrape"})
        assert r.status_code == 200
        assert "vigil_alerts_opened_total" in r.text
