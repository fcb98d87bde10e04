"""The API over TLS, with a test CA the test makes (openssl): HSTS, Secure session cookies,
and a client that does not trust the CA refused."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.api.conftest import PASSWORD, LiveServer, World, make_app
from tests.certs import make_ca_and_server_cert
from vigil.settings import Settings

pytestmark = pytest.mark.integration


def test_the_api_over_tls(world: World, tmp_path: Path) -> None:
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    settings = Settings(
        database_url=world.db_url, api_openapi=True, api_tls_certfile=cert, api_tls_keyfile=key
    )
    with LiveServer(make_app(world.db_url, settings=settings), settings=settings) as base:
        assert base.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=base, verify=trusted, timeout=10) as client:
            r = client.get("/health")
            assert r.status_code == 200
            assert r.headers["strict-transport-security"].startswith("max-age=")
            r = client.post(
                "/api/v1/auth/session",
                json={
                    "email": f"clinician.{world.a.id.hex[:6]}@clinic.example",
                    "password": PASSWORD,
                },
            )
            assert r.status_code == 200, r.text
            cookies = r.headers.get_list("set-cookie")
            assert len(cookies) == 2
            assert all("secure" in c.lower() for c in cookies)
            assert client.get("/api/v1/me").json()["role"] == "clinician"
        # A client that does not trust the test CA is refused; clear text gets nothing.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{base}/health", timeout=10)
        with pytest.raises(httpx.HTTPError):
            httpx.get(base.replace("https://", "http://") + "/health", timeout=10)


def test_a_certificate_needs_its_key() -> None:
    with pytest.raises(ValidationError):
        Settings(api_tls_certfile=Path("cert.pem"))
