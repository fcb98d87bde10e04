"""``X-Forwarded-For`` is believed only from the configured proxies: a password sprayer who
rotates it meets the same 429s as one who does not, and a real proxy's clients are throttled
(and audited) by their own address."""

from __future__ import annotations

import itertools

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from tests.api.conftest import LiveServer, World, make_app
from vigil.api.serving import uvicorn_options
from vigil.settings import Settings

pytestmark = pytest.mark.integration

ATTEMPTS = 60

_forged = itertools.count(1)


def spray(base: str, source: str, *, rotate: bool) -> list[int]:
    """60 guesses at 60 different accounts from ``source``, with or without a new
    ``X-Forwarded-For`` address on each."""
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=base, timeout=10, transport=transport) as client:
        statuses = []
        for i in range(ATTEMPTS):
            n = next(_forged)
            headers = {"X-Forwarded-For": f"203.0.{n // 250}.{n % 250 + 1}"} if rotate else {}
            r = client.post(
                "/api/v1/auth/token",
                json={"email": f"user{i}.{source}@nowhere.example", "password": "Spring2026!"},
                headers=headers,
            )
            statuses.append(r.status_code)
    return statuses


def served(world: World, **settings: object) -> LiveServer:
    config = Settings(
        database_url=world.db_url,
        metrics_token=SecretStr("scrape-token"),
        **settings,  # type: ignore[arg-type]
    )
    return LiveServer(make_app(world.db_url, settings=config), settings=config)


def test_rotating_forwarded_for_from_loopback_meets_the_same_429s(world: World) -> None:
    # From 127.0.0.1, the address uvicorn believes by default; each spray on a fresh server.
    with served(world) as base:
        plain = spray(base, "127.0.0.1", rotate=False)
    with served(world) as base:
        forged = spray(base, "127.0.0.1", rotate=True)
    print(
        f"spray of {ATTEMPTS}: 429s without the header", plain.count(429), "with", forged.count(429)
    )
    assert plain.count(429) > 0
    assert forged == plain
    assert set(forged) == {401, 429}
    with world.conn() as conn:  # audited with the peer's address, not a forged one
        addresses = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT detail->>'address' FROM audit_log WHERE action = 'issue_token'"
            )
        }
    assert addresses == {"127.0.0.1"}


def test_a_configured_proxy_is_believed_and_its_clients_are_throttled_by_their_address(
    world: World,
) -> None:
    with served(world, api_trusted_proxies="127.0.0.20/31") as base:
        # Through the proxy, each client its own address: the throttle sees 60 clients.
        forwarded = spray(base, "127.0.0.20", rotate=True)
        assert forwarded == [401] * ATTEMPTS
        # One client behind the proxy spraying is refused as if it came directly.
        transport = httpx.HTTPTransport(local_address="127.0.0.21")
        with httpx.Client(base_url=base, timeout=10, transport=transport) as proxy:
            statuses = [
                proxy.post(
                    "/api/v1/auth/token",
                    json={"email": f"v{i}@nowhere.example", "password": "x"},
                    headers={"X-Forwarded-For": "198.51.100.7"},
                ).status_code
                for i in range(25)
            ]
        assert statuses[:20] == [401] * 20
        assert set(statuses[20:]) == {429}
        # Another peer, not a configured proxy, is not believed.
        assert spray(base, "127.0.0.22", rotate=True).count(429) > 0


def test_the_setting_is_checked_and_passed_to_uvicorn() -> None:
    assert uvicorn_options(Settings())["proxy_headers"] is False
    options = uvicorn_options(Settings(api_trusted_proxies="10.0.0.0/8, 192.0.2.1"))
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.0/8", "192.0.2.1"]
    for bad in ("*", "proxy.example", "10.0.0.0/40"):
        with pytest.raises(ValidationError):
            Settings(api_trusted_proxies=bad)
