"""The NATS edge: a PUBACK means the reading is durable, whatever is killed and in which order.

Devices publish over MQTT 3.1.1 to a real nats-server's MQTT listener (vigil.servers.edge);
ingest (`vigil ingest` as a process, or in-process) pulls the captured messages from JetStream.
Each test counts attempted / PUBACKed / stored / lost / doubled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from tests.certs import assert_tls_only, make_ca_and_server_cert
from tests.conftest import Harness
from tests.ingest.test_no_loss import IngestProcess as NoLossIngestProcess
from tests.waiting import wait_for

from vigil.core.payload import topic_for
from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import EmbeddedNats, MqttTarget, sync_broker_credentials
from vigil.servers.process import free_port
from vigil.servers.stack import open_edge, start_servers
from vigil.settings import Settings
from vigil.storage import admin

pytestmark = pytest.mark.slow


@pytest.fixture
def edge(tmp_path: Path, harness: Harness) -> Iterator[EmbeddedNats]:
    """A NATS server with the device edge, devices from the harness's database."""
    server = EmbeddedNats(tmp_path / "edge", mqtt_port=0)
    server.start()
    with psycopg.connect(harness.db_url) as conn:
        open_edge(server, admin.list_broker_users(conn))
    yield server
    server.stop()


def provision(harness: Harness, edge: EmbeddedNats) -> admin.DeviceCredentials:
    """A patient with a device, let into the edge the way the admin console does it."""
    creds = provision_in_db(harness)
    with psycopg.connect(harness.db_url) as conn:
        assert sync_broker_credentials(conn, edge.root)
    return creds


class Device:
    """One device on the edge: MQTT 3.1.1, persistent session, QoS 1; remembers which
    readings (by timestamp) were attempted and which were PUBACKed."""

    def __init__(self, edge: EmbeddedNats, creds: admin.DeviceCredentials) -> None:
        assert edge.mqtt_port is not None
        self.device_id = creds.device_id
        self.pub = DevicePublisher(
            "127.0.0.1",
            edge.mqtt_port,
            creds.device_id,
            creds.password,
            inflight=50,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean=False,
        )
        self.pub.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.sent: list[tuple[str, mqtt.MQTTMessageInfo]] = []
        self.extra_acked: set[str] = set()
        """Readings another connection of this device had PUBACKed (rounds, merged)."""
        self.acked_mids: set[int] = set()
        # paho calls this on a PUBACK, also for a message it resent after a reconnect (no lock:
        # taking one here against paho's own would deadlock with publish()).
        self.pub.on_acked = lambda mid, _at: self.acked_mids.add(mid)

    @property
    def attempted(self) -> list[str]:
        return [key for key, _ in self.sent]

    @property
    def acked(self) -> set[str]:
        """Readings the edge PUBACKed."""
        return {key for key, info in self.sent if info.mid in self.acked_mids} | self.extra_acked

    def connect(self) -> None:
        wait_for(self._try_connect, f"{self.device_id} connected", timeout=30)

    def _try_connect(self) -> bool:
        try:
            self.pub.connect(timeout=5)
        except (ConnectionError, OSError):
            self.pub.client.loop_stop()
            return False
        return True

    def publish(self, ts: datetime, value: int = 96) -> None:
        key = ts.isoformat()
        body = {"readings": [{"ts": key, "metric": "spo2", "value": value, "unit": "%"}]}
        self.sent.append((key, self.pub.publish(json.dumps(body).encode())))

    def all_acked(self) -> bool:
        return all(info.mid in self.acked_mids for _, info in self.sent)

    def close(self) -> None:
        self.pub.close()


def stored_keys(harness: Harness, device_ids: list[str]) -> tuple[set[tuple[str, str]], int]:
    """(distinct (device, timestamp) stored, rows) for these devices."""
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT device_id, time FROM readings WHERE device_id = ANY(%s)", (device_ids,)
        ).fetchall()
    keys = {(str(d), t.astimezone(UTC).isoformat()) for d, t in rows}
    return keys, len(rows)


def counts(harness: Harness, devices: list[Device]) -> dict[str, int]:
    keys, rows = stored_keys(harness, [d.device_id for d in devices])
    acked = {(d.device_id, ts) for d in devices for ts in d.acked}
    figures = {
        "attempted": sum(len(d.attempted) for d in devices),
        "pubacked": len(acked),
        "stored": len(keys),
        "lost": len(acked - keys),
        "doubled": rows - len(keys),
    }
    print("\n" + " ".join(f"{k}={v}" for k, v in figures.items()))
    return figures


class IngestProcess(NoLossIngestProcess):
    """`vigil ingest` on the NATS edge as an OS process (so that it can be SIGKILLed)."""

    ready = "edge: pulling from"

    def __init__(self, harness: Harness, edge: EmbeddedNats, state_dir: Path) -> None:
        super().__init__(harness, str(state_dir))
        self.env.update(
            {
                "VIGIL_MQTT_EDGE": "nats",
                "VIGIL_MQTT_URL": "",
                "VIGIL_NATS_URL": edge.url,
            }
        )


@pytest.fixture
def ingest_process(harness: Harness, edge: EmbeddedNats, tmp_path: Path) -> Iterator[IngestProcess]:
    proc = IngestProcess(harness, edge, tmp_path / "ingest")
    yield proc
    proc.terminate()


def test_pubacked_while_vigil_is_down_survive_a_kill_9_of_the_edge(
    harness: Harness, edge: EmbeddedNats, ingest_process: IngestProcess
) -> None:
    """The issue's case, three rounds: Vigil down, a device publishes 300 readings and gets
    300 PUBACKs, the process on the device port is SIGKILLed and started again, Vigil starts:
    every PUBACKed reading is stored."""
    creds = provision(harness, edge)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    devices: list[Device] = []
    for round_ in range(3):
        device = Device(edge, creds)
        devices.append(device)
        device.connect()
        for i in range(300):
            device.publish(base + timedelta(seconds=round_ * 1000 + i))
        wait_for(device.all_acked, f"round {round_}: 300 PUBACKs", timeout=60)
        device.pub.client.loop_stop()  # the device has its PUBACKs and drops the readings
        edge.kill()
        edge.start()
        ingest_process.start()
        expected = 300 * (round_ + 1)
        wait_for(
            lambda: len(stored_keys(harness, [creds.device_id])[0]) >= expected,  # noqa: B023
            f"round {round_}: PUBACKed readings stored",
        )
        ingest_process.kill()  # Vigil down for the next round
    figures = counts(harness, _merged(devices))
    assert figures == {
        "attempted": 900,
        "pubacked": 900,
        "stored": 900,
        "lost": 0,
        "doubled": 0,
    }


def _merged(devices: list[Device]) -> list[Device]:
    """The rounds' connections are one device: merge their records into the first."""
    first = devices[0]
    for other in devices[1:]:
        first.extra_acked |= other.acked
        first.sent += other.sent
    return [first]


def test_edge_killed_repeatedly_while_60_devices_publish(
    harness: Harness, edge: EmbeddedNats, tmp_path: Path
) -> None:
    """kill -9 of the edge three times in the middle of a burst from 60 devices: every
    PUBACKed reading stored once (the devices resend what was in flight when it died)."""
    fleet = [Device(edge, provision(harness, edge)) for _ in range(60)]
    settings = harness.settings(mqtt_edge="nats", nats_url=edge.url)
    ingest = Ingest(
        settings, database_url=harness.db_url, mqtt=MqttTarget("", 0, "", ""), nats_url=edge.url
    )
    ingest.start()
    try:
        for device in fleet:
            device.connect()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        per_device = 50
        kills = 0
        for i in range(per_device):
            for device in fleet:
                device.publish(base + timedelta(seconds=i), value=90 + i % 9)
            if i in (10, 25, 40):
                # Mid-burst: some of this round PUBACKed, the rest in flight or unsent.
                wait_for(
                    lambda: sum(len(d.acked) for d in fleet) > 60 * (i - 5),  # noqa: B023
                    "part of the burst PUBACKed",
                )
                edge.kill()
                kills += 1
                edge.start()
        wait_for(lambda: all(d.all_acked() for d in fleet), "every reading PUBACKed", 120)
        wait_for(
            lambda: len(stored_keys(harness, [d.device_id for d in fleet])[0]) >= 60 * per_device,
            "every PUBACKed reading stored",
            120,
        )
        figures = counts(harness, fleet)
    finally:
        for device in fleet:
            device.close()
        ingest.stop()
    assert kills == 3
    assert figures == {
        "attempted": 3000,
        "pubacked": 3000,
        "stored": 3000,
        "lost": 0,
        "doubled": 0,
    }


def test_a_device_publishes_only_to_its_own_topic_and_revocation_is_immediate(
    harness: Harness, edge: EmbeddedNats
) -> None:
    mine, other = provision(harness, edge), provision(harness, edge)
    settings = harness.settings(mqtt_edge="nats", nats_url=edge.url)
    ingest = Ingest(
        settings, database_url=harness.db_url, mqtt=MqttTarget("", 0, "", ""), nats_url=edge.url
    )
    ingest.start()
    device = Device(edge, mine)
    try:
        device.connect()
        ts = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        body = json.dumps({"readings": [{"ts": ts.isoformat(), "metric": "spo2", "value": 97}]})
        # As another device, and outside the readings topics: MQTT 3.1.1 cannot refuse a
        # PUBLISH, so the edge acknowledges and drops it (a permissions violation in its log).
        for topic in (topic_for(other.device_id), "vigil/v1/devices/x/commands", "$MQTT/sess/x"):
            info = device.pub.client.publish(topic, body, qos=1)
            info.wait_for_publish(10)
        # Subscribing to anything is refused.
        granted: list[list[bool]] = []
        device.pub.client.on_subscribe = lambda _c, _u, _mid, codes, _p: granted.append(
            [code.is_failure for code in codes]
        )
        result, _ = device.pub.client.subscribe("vigil/#", qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        assert wait_for(lambda: granted, "SUBACK") == [[True]]
        device.publish(ts)  # its own topic, last: once stored, the others had their turn
        wait_for(lambda: stored_keys(harness, [mine.device_id])[1] == 1, "own reading stored")
        assert stored_keys(harness, [other.device_id])[1] == 0
        assert ingest.service.stats.rejected == 0  # nothing of the others reached ingest

        # Revocation: the connected device is disconnected and refused from then on.
        with psycopg.connect(harness.db_url) as conn:
            admin.revoke_device(conn, device_id=mine.device_id)
            assert sync_broker_credentials(conn, edge.root)
        wait_for(lambda: not device.pub.client.is_connected(), "revoked device disconnected")
        device.close()
        again = Device(edge, mine)
        with pytest.raises(ConnectionError, match=r"Not authorized|Bad user name"):
            again.pub.connect(timeout=5)
        again.pub.client.loop_stop()
        wrong = Device(edge, admin.DeviceCredentials(other.device_id, "not-its-password", ""))
        with pytest.raises(ConnectionError, match=r"Not authorized|Bad user name"):
            wrong.pub.connect(timeout=5)
        wrong.pub.client.loop_stop()
    finally:
        ingest.stop()


def test_two_ingest_instances_share_the_edge_across_kills_of_either_and_of_the_edge(
    harness: Harness, edge: EmbeddedNats, tmp_path: Path
) -> None:
    """Scale-out: two `vigil ingest` pull from the one durable consumer. One is killed -9
    mid-burst (what it held unacknowledged is offered again to the other), then the edge is
    killed -9 and started again: every PUBACKed reading is stored once."""
    first = IngestProcess(harness, edge, tmp_path / "first")
    second = IngestProcess(harness, edge, tmp_path / "second")
    fleet = [Device(edge, provision(harness, edge)) for _ in range(20)]
    first.start()
    second.start()
    try:
        for device in fleet:
            device.connect()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        ids = [d.device_id for d in fleet]
        for i in range(100):
            for device in fleet:
                device.publish(base + timedelta(seconds=i), value=90 + i % 9)
            if i == 30:
                wait_for(lambda: len(stored_keys(harness, ids)[0]) > 200, "part stored")
                first.kill()
            if i == 60:
                edge.kill()
                edge.start()
        wait_for(lambda: all(d.all_acked() for d in fleet), "every reading PUBACKed", 120)
        wait_for(lambda: len(stored_keys(harness, ids)[0]) >= 2000, "all stored", 120)
        figures = counts(harness, fleet)
    finally:
        for device in fleet:
            device.close()
        first.terminate()
        second.terminate()
    assert figures == {
        "attempted": 2000,
        "pubacked": 2000,
        "stored": 2000,
        "lost": 0,
        "doubled": 0,
    }


def _pulling(edge: EmbeddedNats) -> int:
    """Ingest connections the edge has (each ingest process connects once, by this name)."""
    conns = httpx.get(edge.monitor_url("/connz"), params={"limit": "1024"}, timeout=5).json()
    return sum(1 for c in conns.get("connections") or [] if c.get("name") == "vigil-ingest-edge")


def _ingest_children(pid: int) -> list[int]:
    """`vigil ingest` processes whose parent is ``pid``."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"ingest" in cmd:
            out.append(int(entry.name))
    return out


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # A zombie is gone too (its parent, killed, cannot reap it; init will).
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                return False
        except OSError:
            continue
    return True


def test_ingest_processes_share_the_edge_and_end_with_their_parent(
    harness: Harness, edge: EmbeddedNats, tmp_path: Path
) -> None:
    """`vigil ingest` with VIGIL_INGEST_PROCESSES=3 runs two helpers beside itself, all three
    pulling from the edge's capture consumer; killed -9 mid-burst, its helpers end with it
    (nothing is left pulling), and once it is started again every PUBACKed reading is stored
    once."""
    ingest = IngestProcess(harness, edge, tmp_path / "ingest")
    ingest.env["VIGIL_INGEST_PROCESSES"] = "3"
    fleet = [Device(edge, provision(harness, edge)) for _ in range(20)]
    ingest.start()
    try:
        assert ingest.proc is not None
        wait_for(lambda: _pulling(edge) == 3, "three ingest processes pulling from the edge")
        helpers = _ingest_children(ingest.proc.pid)
        assert len(helpers) == 2
        for device in fleet:
            device.connect()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        ids = [d.device_id for d in fleet]
        for i in range(60):
            for device in fleet:
                device.publish(base + timedelta(seconds=i), value=90 + i % 9)
            if i == 20:
                wait_for(lambda: len(stored_keys(harness, ids)[0]) > 100, "part stored")
                ingest.kill()
                wait_for(lambda: _gone(helpers), "the helpers ended with their parent")
                wait_for(lambda: _pulling(edge) == 0, "nothing left pulling")
                ingest.start()
        wait_for(lambda: all(d.all_acked() for d in fleet), "every reading PUBACKed", 120)
        wait_for(lambda: len(stored_keys(harness, ids)[0]) >= 1200, "all stored", 120)
        figures = counts(harness, fleet)
    finally:
        for device in fleet:
            device.close()
        ingest.terminate()
    assert figures == {
        "attempted": 1200,
        "pubacked": 1200,
        "stored": 1200,
        "lost": 0,
        "doubled": 0,
    }


def test_the_embedded_edge_over_tls_stores_and_refuses_clear_text_or_an_untrusted_ca(
    harness: Harness, tmp_path: Path
) -> None:
    """`start_servers` with VIGIL_MQTT_EDGE=nats and the device TLS pair: the NATS server's
    MQTT listener speaks TLS only; a device that trusts the CA publishes and all is stored."""
    tmp_path.chmod(0o755)
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, cert, key = make_ca_and_server_cert(certs)
    patient_creds = provision_in_db(harness)
    settings = Settings(
        database_url=harness.db_url,
        mqtt_edge="nats",
        state_dir=tmp_path / "state",
        mqtt_device_tls_certfile=cert,
        mqtt_device_tls_keyfile=key,
        stream_name=harness.stream_name,
    )
    servers = start_servers(settings)
    ingest = Ingest(
        settings, database_url=harness.db_url, mqtt=servers.mqtt, nats_url=servers.nats_url
    )
    ingest.start()
    try:
        assert servers.edge == "nats"
        pub = DevicePublisher(
            "127.0.0.1",
            servers.device_port,
            patient_creds.device_id,
            patient_creds.password,
            tls_ca=ca,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        pub.connect()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        body = '{"readings": [{"ts": "%s", "metric": "spo2", "value": 96, "unit": "%%"}]}'
        infos = [
            pub.publish((body % (base + timedelta(seconds=i)).isoformat()).encode())
            for i in range(100)
        ]
        for info in infos:
            info.wait_for_publish(30)
        pubacked = sum(i.is_published() for i in infos)
        pub.close()
        wait_for(lambda: stored_keys(harness, [patient_creds.device_id])[1] >= 100, "TLS stored")
        assert (pubacked, stored_keys(harness, [patient_creds.device_id])[1]) == (100, 100)

        # A device that does not trust the CA does not hand over its password; clear MQTT gets
        # no session.
        mqtt311_connect = b"\x00\x04MQTT\x04\x02\x00\x3c\x00\x03abc"  # client "abc"
        assert_tls_only(servers.device_port, mqtt311_connect)
    finally:
        ingest.stop()
        servers.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def provision_in_db(harness: Harness) -> admin.DeviceCredentials:
    with psycopg.connect(harness.db_url) as conn:
        _, creds = admin.enrol_with_device(
            conn,
            tenant_id=harness.tenant_id,
            display_name="TLS patient",
            kind="oximeter",
            assigned_since=timedelta(days=200),
        )
    return creds


def test_vigil_serve_killed_then_its_edge_killed_loses_nothing_pubacked(
    harness: Harness, tmp_path: Path
) -> None:
    """The issue's black-box case with `vigil serve` itself (its embedded NATS edge, the
    harness's database), three rounds: `vigil serve` killed -9 (its edge keeps running), a
    device publishes 300 readings and gets 300 PUBACKs, the process on the device port is
    killed -9, `vigil serve` is started again: every PUBACKed reading is stored."""
    state = tmp_path / "state"
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")},
        "VIGIL_DATABASE_URL": harness.db_url,
        "VIGIL_STATE_DIR": str(state),
        "VIGIL_API_PORT": str(port),
        "VIGIL_STREAM_NAME": harness.stream_name,
    }

    def serve() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "vigil", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/health"), "vigil serve up", 120)
        return proc

    def kill_9(proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    creds = provision_in_db(harness)
    proc = serve()
    edge = EmbeddedNats(state / "nats")
    devices: list[Device] = []
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    try:
        for round_ in range(3):
            kill_9(proc)  # Vigil down; its embedded edge keeps running
            ports = edge.running_ports()
            assert ports is not None
            edge.port, edge.http_port = ports
            device = Device(edge, creds)
            devices.append(device)
            device.connect()
            for i in range(300):
                device.publish(base + timedelta(seconds=round_ * 1000 + i))
            wait_for(device.all_acked, f"round {round_}: 300 PUBACKs")
            device.pub.client.loop_stop()
            edge.kill()  # the process on the device port, with SIGKILL
            proc = serve()
            expected = 300 * (round_ + 1)
            wait_for(
                lambda: len(stored_keys(harness, [creds.device_id])[0]) >= expected,  # noqa: B023
                f"round {round_}: PUBACKed readings stored",
                120,
            )
        figures = counts(harness, _merged(devices))
    finally:
        proc.terminate()
        proc.wait(60)
        EmbeddedNats(state / "nats").stop()  # stopped by serve already; a no-op then
    assert figures == {
        "attempted": 900,
        "pubacked": 900,
        "stored": 900,
        "lost": 0,
        "doubled": 0,
    }
