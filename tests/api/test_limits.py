"""Size limits: a huge body is refused with 413 before it is read; every list is capped."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import World
from vigil.alerts import AlertService
from vigil.api.routers.reports import CLINIC_MAX_PATIENTS

pytestmark = pytest.mark.integration

FIFTY_MB = 50 * 1024 * 1024


def _connect(base_url: str) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_50_mb_body_is_refused_unread(base_url: str) -> None:
    """Only the headers are sent: the 413 comes back without the server waiting for (or
    reading) a byte of the 50 MB announced."""
    with _connect(base_url) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {FIFTY_MB}\r\n\r\n".encode()
        )
        started = time.monotonic()
        head = _response(sock)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"x-content-type-options: nosniff" in head.lower()
    print(f"50 MB announced, 0 bytes sent: 413 after {time.monotonic() - started:.3f} s")


def test_a_chunked_body_is_cut_off_past_the_cap(base_url: str, world: World) -> None:
    """No length announced: the server stops reading once past the cap (1 MB by default)."""
    chunk = b"x" * 65536
    sent = 0
    with _connect(base_url) as sock:
        sock.sendall(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.settimeout(0.0)
        head = b""
        while sent < FIFTY_MB and not head:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            try:
                head = sock.recv(65536)
            except BlockingIOError:
                continue
        sock.settimeout(10)
        head += _response(sock) if b"\r\n\r\n" not in head else b""
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert sent < FIFTY_MB
    print(f"chunked: 413 after {sent / 1e6:.1f} MB of 50 sent")
    # The process keeps serving.
    assert httpx.get(f"{base_url}/health").status_code == 200
    r = httpx.post(
        f"{base_url}/api/v1/care-teams", json={"name": "x" * 100}, headers=world.headers("admin")
    )
    assert r.status_code in (201, 422)


def test_every_list_is_capped(client: httpx.Client, world: World) -> None:
    """Every list operation in the OpenAPI document takes a bounded ``limit`` or is bounded by
    construction (named here, with its bound)."""
    bounded = {
        "/api/v1/patients/{patient_id}/readings/rollup": "time range x bucket",
        "/api/v1/care-teams/{team_id}/latest-vitals": "at most 2,000 patients",
        "/api/v1/reports/clinic": f"at most {CLINIC_MAX_PATIENTS:,} patients, a row each",
    }
    spec = client.get("/api/v1/openapi.json").json()
    with world.conn() as conn:
        [change] = AlertService().apply(conn, [finding(world.a.patient)])
    values = {
        "patient_id": str(world.a.patient),
        "alert_id": str(change.alert_id),
        "team_id": str(world.a.team),
    }
    lists = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        schema = op["responses"].get("200", {}).get("content", {}).get("application/json", {})
        if schema.get("schema", {}).get("type") != "array":
            continue
        lists.append(path)
        if path in bounded:
            continue
        limit = [p for p in op.get("parameters", []) if p["name"] == "limit"]
        assert limit, f"{path} has no limit"
        assert limit[0]["schema"]["maximum"] <= 10_000, path
        r = client.get(
            path.format(**values),
            params={"limit": 10**9},
            headers=world.headers("patient" if "/me/" in path else "admin"),
        )
        assert r.status_code == 422, path
    assert len(lists) >= 8, lists
    print(f"{len(lists)} list operations, each capped")
