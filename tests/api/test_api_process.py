"""`vigil api` alone, as a separate OS process (one of K replicas): it answers, and an alert
applied by another process reaches its SSE stream (through PostgreSQL NOTIFY)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import World
from tests.api.sse import SseReader
from tests.conftest import INGEST_USER
from vigil.alerts import AlertService
from vigil.clinical.findings import Severity
from vigil.servers import EmbeddedMosquitto, EmbeddedNats

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_api_replica_alone_streams_alerts_applied_elsewhere(
    world: World, broker: EmbeddedMosquitto, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")},
        "VIGIL_DATABASE_URL": world.db_url,
        "VIGIL_MQTT_URL": broker.url(INGEST_USER),
        "VIGIL_NATS_URL": nats_server.url,
        "VIGIL_STATE_DIR": str(tmp_path),
        "VIGIL_API_PORT": str(port),
    }
    with (tmp_path / "api.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "api"], env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, (tmp_path / "api.log").read_text()
            assert time.monotonic() < deadline, "vigil api never answered"
            time.sleep(0.2)
        nurse = world.headers("clinician")
        with SseReader(f"{base}/api/v1/alerts/stream", nurse) as sse, world.conn() as conn:
            [change] = AlertService().apply(
                conn, [finding(world.a.patient, value=84, severity=Severity.CRITICAL)]
            )
            event = sse.next(timeout=30)
        assert event["data"]["alert_id"] == str(change.alert_id)
        assert event["data"]["kind"] == "opened"
        inbox = httpx.get(f"{base}/api/v1/alerts", headers=nurse, timeout=10).json()
        assert [a["id"] for a in inbox] == [str(change.alert_id)]
        assert httpx.get(f"{base}/api/v1/alerts", headers=world.headers("outsider")).json() == []
    finally:
        proc.terminate()
        proc.wait(30)
