"""The embedded default: no URLs configured, Vigil runs its own servers under its state folder."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nats
import psycopg
import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from vigil.ingest import DevicePublisher
from vigil.servers import start_servers
from vigil.servers.mosquitto import config_text
from vigil.servers.nats import EmbeddedNats
from vigil.settings import Settings
from vigil.storage import nightscout

pytestmark = pytest.mark.integration  # its tests start their own servers


@pytest.fixture
def state_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="vigil-state-"))
    root.chmod(0o755)
    yield root
    import shutil

    shutil.rmtree(root, ignore_errors=True)


def vigil(state_dir: Path, *args: str) -> str:
    env = {**os.environ, "VIGIL_STATE_DIR": str(state_dir)}
    env.pop("VIGIL_DATABASE_URL", None)
    env.pop("VIGIL_MQTT_URL", None)
    env.pop("VIGIL_NATS_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "vigil", *args], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_embedded_servers_start_attach_and_provision_through_the_cli(state_dir: Path) -> None:
    servers = start_servers(Settings(state_dir=state_dir))
    try:
        with psycopg.connect(servers.database_url) as conn:
            row = conn.execute("SHOW shared_preload_libraries").fetchone()
            assert row is not None
            assert "timescaledb" in str(row[0])
        nats_pid = EmbeddedNats(state_dir / "nats").pid
        assert nats_pid is not None
        assert servers.nats_url.startswith("nats://vigil:")
        # Only the device edge's stream ($MQTT_msgs, the embedded default edge) so far.
        assert servers.edge == "nats"
        assert asyncio.run(jetstream_streams(servers.nats_url)) == 1
        # A second Vigil process (the admin CLI) attaches to the running servers.
        tenant = vigil(state_dir, "admin", "create-tenant", "Clinic A")
        assert len(tenant) == 36
        patient = vigil(
            state_dir,
            "admin",
            "create-patient",
            "--tenant",
            "Clinic A",
            "--name",
            "P",
            "--condition",
            "copd",
        )
        creds = json.loads(
            vigil(
                state_dir,
                "admin",
                "create-device",
                "--tenant",
                "Clinic A",
                "--kind",
                "oximeter",
                "--patient",
                patient,
            )
        )
        assert creds["topic"] == f"vigil/v1/devices/{creds['device_id']}/readings"
        # Beside the MQTT credentials, the uploader app's Nightscout settings (shown once):
        # only a digest of the header form of the secret is kept.
        ns = creds["nightscout"]
        assert ns["url"] == "http://127.0.0.1:8000/ns"
        assert ns["xdrip_url"] == f"http://{ns['api_secret']}@127.0.0.1:8000/ns/api/v1/"
        with psycopg.connect(servers.database_url) as conn:
            kept = conn.execute(
                "SELECT secret_sha1 = %s FROM nightscout_credentials WHERE device_id = %s",
                (
                    nightscout.digest(nightscout.header_form(ns["api_secret"], "sha1")),
                    creds["device_id"],
                ),
            ).fetchone()
        assert kept == (True,)
        # The broker reloaded its password file: the new device can connect at once.
        pub = DevicePublisher(
            servers.mqtt.host,
            servers.device_port,
            creds["username"],
            creds["password"],
            protocol=MQTTProtocolVersion.MQTTv311,  # the NATS edge speaks 3.1.1
        )
        pub.connect()
        pub.close()
        # The CLI processes attached to this process's NATS server too (none started its own).
        assert EmbeddedNats(state_dir / "nats").pid == nats_pid
    finally:
        servers.close()
    assert not (state_dir / "postgres" / "data" / "postmaster.pid").exists()
    assert EmbeddedNats(state_dir / "nats").pid is None


async def jetstream_streams(url: str) -> int:
    nc = await nats.connect(url, connect_timeout=5, allow_reconnect=False)
    try:
        return (await nc.jetstream(timeout=5).account_info()).streams
    finally:
        await nc.close()


def test_broker_config_is_made_for_no_loss(tmp_path: Path) -> None:
    text = config_text(root=tmp_path, port=1883, service_port=1884)
    assert "allow_anonymous false" in text
    assert "persistence true" in text
    assert "use_username_as_clientid true" in text
    assert "max_queued_messages 10000000" in text
    assert "autosave_interval 5" in text
