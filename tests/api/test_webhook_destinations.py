"""An admin cannot point a webhook inside: refused at creation, nothing stored."""

from __future__ import annotations

import httpx
import pytest

from tests.alerts.test_destinations import INSIDE, NOT_HTTPS
from tests.api.conftest import World

pytestmark = pytest.mark.integration


def test_webhooks_inside_are_refused_at_creation(client: httpx.Client, world: World) -> None:
    admin = world.headers("admin")
    refused = 0
    for url in [*INSIDE, *NOT_HTTPS]:
        r = client.post(
            "/api/v1/webhooks", json={"url": url, "secret": "s3cret-key"}, headers=admin
        )
        assert r.status_code in (400, 422), (url, r.text)
        assert r.json()["error"]["code"] in ("bad_request", "invalid_request"), url
        refused += 1
    assert client.get("/api/v1/webhooks", headers=admin).json() == []
    print(f"SSRF at creation: {refused} targets refused, 0 stored")
    r = client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/in", "secret": "s3cret-key"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
