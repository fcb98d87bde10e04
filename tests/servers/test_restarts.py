"""Embedded servers come back by themselves: under `vigil serve` (a process of its own), kill -9
of PostgreSQL, the broker and NATS, one after the other, while a device publishes. Each is
back within 30 s, counted in ``vigil_embedded_restarts_total``, and every reading the device
had acknowledged is stored; a `vigil detect` given the database and NATS starts no broker;
nothing `vigil serve` started outlives it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from tests.servers.test_embedded import vigil
from tests.waiting import wait_for

from vigil.ingest import DevicePublisher
from vigil.servers.mosquitto import EmbeddedMosquitto
from vigil.servers.nats import EmbeddedNats
from vigil.servers.postgres import EmbeddedPostgres
from vigil.servers.process import free_port
from vigil.servers.supervisor import pid_alive

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TOKEN = "scrape-token"
BURST = 20


@pytest.fixture
def state_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="vigil-restarts-"))
    root.chmod(0o755)
    yield root
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def read_pid(path: Path, line: int = 0) -> int | None:
    try:
        return int(path.read_text().splitlines()[line])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def server_pids(state: Path, edge: str) -> dict[str, Callable[[], int | None]]:
    """The embedded servers `vigil serve` runs: on the NATS edge (the default) the NATS server
    also takes the devices' MQTT, and there is no Mosquitto."""
    pids: dict[str, Callable[[], int | None]] = {
        "postgres": lambda: read_pid(state / "postgres" / "data" / "postmaster.pid"),
        "broker": lambda: read_pid(state / "mosquitto" / "mosquitto.pid"),
        "nats": lambda: EmbeddedNats(state / "nats").pid,
    }
    if edge == "nats":
        del pids["broker"]
    return pids


def device_port(state: Path, edge: str) -> int:
    if edge == "nats":
        nats = EmbeddedNats(state / "nats")
        assert nats.running_ports() is not None
        assert nats.mqtt_port is not None
        return nats.mqtt_port
    ports = EmbeddedMosquitto(state / "mosquitto").running_ports()
    assert ports is not None
    return ports[0]


def back(pid_of: Callable[[], int | None], before: int) -> bool:
    """Running again, as another process."""
    now = pid_of()
    return now is not None and now != before and pid_alive(now)


def env_for(state: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "VIGIL_STATE_DIR": str(state), **extra}
    for key in ("VIGIL_DATABASE_URL", "VIGIL_MQTT_URL", "VIGIL_NATS_URL", "VIGIL_FAULT_POINT"):
        if key not in extra:
            env.pop(key, None)
    return env


def database_url(state: Path) -> str:
    pg = EmbeddedPostgres(state / "postgres")
    port = pg.running_port()
    assert port is not None
    pg.port = port
    return pg.url()


@pytest.mark.parametrize("edge", ["nats", "mosquitto"])
def test_kill_9_of_each_embedded_server_under_serve_is_back_with_nothing_lost(
    state_dir: Path, tmp_path: Path, edge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_MQTT_EDGE", edge)  # the CLI's provisioning reaches that edge
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [sys.executable, "-m", "vigil", "serve"],
        env=env_for(
            state_dir, VIGIL_API_PORT=str(port), VIGIL_METRICS_TOKEN=TOKEN, VIGIL_MQTT_EDGE=edge
        ),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    pids = server_pids(state_dir, edge)
    recoveries: dict[str, float] = {}
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{api}/ready", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, "vigil serve ready", 240)
        vigil(state_dir, "admin", "create-tenant", "Clinic R")
        patient = vigil(state_dir, "admin", "create-patient", "--tenant", "Clinic R", "--name", "P")
        creds = json.loads(
            vigil(state_dir, "admin", "create-device", "--tenant", "Clinic R",
                  "--kind", "oximeter", "--patient", patient)
        )  # fmt: skip
        device = DevicePublisher(
            "127.0.0.1",
            device_port(state_dir, edge),
            creds["username"],
            creds["password"],
            protocol=MQTTProtocolVersion.MQTTv311,  # what both edges speak
        )
        device.connect()
        acknowledged = 0

        def burst() -> None:
            nonlocal acknowledged
            wait_for(device.client.is_connected, "the device connected (paho reconnects)", 60)
            infos = []
            for _ in range(BURST):  # measured now: after the device's assignment began
                reading = {"ts": datetime.now(UTC).isoformat(), "metric": "spo2",
                           "value": 96, "unit": "%"}  # fmt: skip
                infos.append(device.publish(json.dumps({"readings": [reading]}).encode()))
            for info in infos:
                info.wait_for_publish(120)
            acknowledged += len(infos)

        def stored() -> int:
            try:
                with psycopg.connect(database_url(state_dir), connect_timeout=3) as conn:
                    row = conn.execute(
                        "SELECT count(*) FROM readings WHERE device_id = %s", (creds["device_id"],)
                    ).fetchone()
                return int(row[0]) if row else -1
            except (psycopg.Error, AssertionError):
                return -1

        burst()
        wait_for(lambda: stored() == acknowledged, "the first burst stored", 60)
        for server, pid_of in pids.items():
            before = pid_of()
            assert before is not None, f"{server} not running"
            assert pid_alive(before), f"{server} not running"
            os.kill(before, signal.SIGKILL)
            killed = time.monotonic()
            wait_for(lambda: back(pid_of, before), f"{server} restarted", 30)  # noqa: B023
            wait_for(ready, f"the API ready after the {server} kill", 30)
            burst()
            wait_for(lambda: stored() == acknowledged, f"every reading stored after {server}", 60)
            recoveries[server] = time.monotonic() - killed
        device.close()
        metrics = httpx.get(
            f"{api}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        ).text
        for server in pids:
            assert f'vigil_embedded_restarts_total{{server="{server}"}} 1.0' in metrics, server

        # A detect worker given the database and NATS starts no broker (nor anything else).
        other = tmp_path / "detect-state"
        nats = EmbeddedNats(state_dir / "nats")
        running = nats.running_ports()
        assert running is not None
        nats.port, nats.http_port = running
        detect = subprocess.Popen(
            [sys.executable, "-m", "vigil", "detect"],
            env=env_for(other, VIGIL_DATABASE_URL=database_url(state_dir), VIGIL_NATS_URL=nats.url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert detect.stderr is not None
        try:
            for line in detect.stderr:
                if "running: partitions" in line:
                    break
            assert not (other / "mosquitto").exists(), "vigil detect started a broker"
            assert not (other / "postgres").exists()
            assert not (other / "nats").exists()
        finally:
            detect.terminate()
            detect.wait(30)
            detect.stderr.close()
    finally:
        serve.terminate()
        serve.wait(60)
        log.close()
        print(
            "\n  recovery after kill -9 (kill to the next burst stored): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in recoveries.items())
        )
    # Nothing vigil serve started outlives it.
    wait_for(lambda: not any(pid_alive(p()) for p in pids.values()), "the servers stopped", 60)
    assert len(recoveries) == len(pids)
    assert all(v < 30 for v in recoveries.values()), recoveries
