"""The device edge, tried as an attacker would: a device cannot take a service's identity, and
no subscription a device makes takes anything from ingest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.conftest import Harness

from vigil.core.credentials import BrokerUser
from vigil.core.identities import InvalidIdentity, ReservedIdentity, check_device_id
from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import EmbeddedMosquitto, MqttTarget
from vigil.servers.credentials import password_file_users
from vigil.servers.mosquitto import MAX_PACKET_SIZE, broker_refusals
from vigil.settings import Settings
from vigil.storage import admin

RESERVED = ["vigil-ingest", "VIGIL-INGEST", "vigil_admin", "Vigil-bench-1"]


def publish_spo2(
    harness: Harness, creds: admin.DeviceCredentials, count: int, *, hours_ago: int, value: float
) -> int:
    """``count`` one-reading SpO2 messages, a second apart from ``hours_ago``; how many the
    broker PUBACKed."""
    pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
    pub.connect()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_ago)
    infos = [
        pub.publish(
            json.dumps(
                {
                    "readings": [
                        {
                            "ts": (start + timedelta(seconds=i)).isoformat(),
                            "metric": "spo2",
                            "value": value,
                            "unit": "%",
                        }
                    ]
                }
            ).encode()
        )
        for i in range(count)
    ]
    for info in infos:
        info.wait_for_publish(10)
    pubacked = sum(info.is_published() for info in infos)
    pub.close()
    return pubacked


@pytest.mark.parametrize("device_id", RESERVED)
def test_provisioning_refuses_a_service_name(db: psycopg.Connection[Any], device_id: str) -> None:
    tenant = admin.create_tenant(db, name="Clinic")
    with pytest.raises(ReservedIdentity):
        admin.provision_device(db, tenant_id=tenant, kind="oximeter", device_id=device_id)
    assert db.execute("SELECT count(*) FROM devices").fetchone() == (0,)


@pytest.mark.parametrize("device_id", RESERVED)
def test_the_database_refuses_a_service_name(db: psycopg.Connection[Any], device_id: str) -> None:
    tenant = admin.create_tenant(db, name="Clinic")
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute(
            "INSERT INTO devices (id, tenant_id, kind, mqtt_password_hash)"
            " VALUES (%s, %s, 'x', 'h')",
            (device_id, tenant),
        )


def test_the_rule_and_the_database_agree(db: psycopg.Connection[Any]) -> None:
    tenant = admin.create_tenant(db, name="Clinic")
    for device_id in ["ox-1", "vigilant-7", "vig", "my-vigil-1", *RESERVED]:
        try:
            check_device_id(device_id)
            python_ok = True
        except InvalidIdentity:
            python_ok = False
        try:
            with db.transaction():
                db.execute(
                    "INSERT INTO devices (id, tenant_id, kind, mqtt_password_hash)"
                    " VALUES (%s, %s, 'x', 'h')",
                    (device_id, tenant),
                )
            db_ok = True
        except psycopg.errors.CheckViolation:
            db_ok = False
        assert python_ok == db_ok, device_id


def test_the_cli_refuses_a_service_name(tmp_path: Path) -> None:
    """Refused before any server is started or any database is touched."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "vigil"),
            *("admin", "create-device", "--tenant", "x", "--kind", "oximeter"),
            *("--id", "vigil-ingest"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VIGIL_STATE_DIR": str(tmp_path / "state")},
    )
    assert result.returncode == 2, result.stderr
    assert "reserved" in result.stderr
    assert not (tmp_path / "state").exists()


def test_a_name_never_gets_a_second_password_file_line() -> None:
    users = [
        BrokerUser("ox-1", "device-hash"),
        BrokerUser("vigil-ingest", "device-hash"),  # a device row that got past every check
        BrokerUser("vigil-ingest", "service-hash", service=True),
        BrokerUser("ox-1", "second-hash"),
    ]
    kept = password_file_users(users)
    assert [(u.name, u.password_hash) for u in kept] == [
        ("vigil-ingest", "service-hash"),
        ("ox-1", "device-hash"),
    ]


def test_a_device_cannot_log_in_on_the_service_listener(harness: Harness) -> None:
    _, creds = harness.patient_with_device()
    on_service_port = DevicePublisher(
        "127.0.0.1", harness.broker.service_port, creds.device_id, creds.password
    )
    with pytest.raises(ConnectionError):
        on_service_port.connect(timeout=3)
    service = harness.ingest_target
    on_device_port = DevicePublisher("127.0.0.1", harness.broker.port, service.username, "x")
    with pytest.raises(ConnectionError):
        on_device_port.connect(timeout=3)


def test_settings_refuse_an_ingest_client_id_outside_the_service_namespace() -> None:
    with pytest.raises(ValueError, match="must begin with"):
        Settings(mqtt_client_id="ox-1")


ATTEMPTS = [
    "#",
    "vigil/#",
    "vigil/v1/devices/+/readings",
    "$share/{group}/vigil/v1/devices/+/readings",
    "$share/{group}/edge/vigil/v1/devices/+/readings",
    "$share/x/vigil/v1/devices/+/readings",
    "$share/x/#",
    "$SYS/#",
]


class Subscriber:
    """A device that subscribes to everything it can think of, with a persistent session."""

    def __init__(self, broker: EmbeddedMosquitto, device_id: str, password: str) -> None:
        self.received: list[str] = []
        self.granted: dict[int, list[str]] = {}
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=device_id,
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(device_id, password)
        self.client.on_message = lambda c, u, m: self.received.append(m.topic)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.granted.__setitem__(
            mid, [str(rc) for rc in rcs]
        )
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=props)
        self.client.loop_start()

    def subscribe_all(self, group: str) -> None:
        mids = [self.client.subscribe(f.format(group=group), qos=1)[1] for f in ATTEMPTS]
        deadline = time.monotonic() + 10
        while not all(m in self.granted for m in mids):
            assert time.monotonic() < deadline, "no SUBACK"
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.mark.parametrize("shared", [False, True], ids=["direct", "shared-group"])
def test_no_device_subscription_takes_anything_from_ingest(harness: Harness, shared: bool) -> None:
    group = harness.ingest_user if shared else None
    ingest = Ingest(
        harness.settings(mqtt_shared_group=group),
        database_url=harness.db_url,
        mqtt=harness.ingest_target,
    )
    ingest.start()
    assert ingest.transport.subscribed.wait(10)
    try:
        _, attacker = harness.patient_with_device()
        _, victim = harness.patient_with_device()
        thief = Subscriber(harness.broker, attacker.device_id, attacker.password)
        thief.subscribe_all(harness.ingest_user)
        subacks = sorted({rc for rcs in thief.granted.values() for rc in rcs})
        thief.close()  # its session, and its subscriptions, persist
        thief = Subscriber(harness.broker, attacker.device_id, attacker.password)
        attempted = 1000
        pubacked = publish_spo2(harness, victim, attempted, hours_ago=3, value=95)
        deadline = time.monotonic() + 60
        while ingest.service.stats.messages < attempted:
            assert time.monotonic() < deadline, (
                f"ingest delivered {ingest.service.stats.messages} of {attempted}"
            )
            time.sleep(0.05)
        thief.close()
    finally:
        ingest.stop()
    stored = harness.count("SELECT count(*) FROM readings WHERE device_id = %s", victim.device_id)
    print(
        f"\nsubscribe attempts ({'shared group' if shared else 'direct'}): attempted {attempted},"
        f" pubacked {pubacked}, stored {stored}, lost {pubacked - stored},"
        f" delivered to the device {len(thief.received)}, SUBACKs {subacks}"
    )
    assert pubacked == attempted
    assert stored == attempted
    assert thief.received == []


def test_ingest_target_carries_the_mount_point(broker: EmbeddedMosquitto) -> None:
    target = MqttTarget.from_url(broker.url("vigil-ingest"))
    assert target.mount_point == "edge/"
    assert target.port == broker.service_port
    assert MqttTarget.from_url("mqtt://u:p@h:1883").mount_point == ""


def test_an_oversized_message_is_refused_at_the_broker_and_counted(harness: Harness) -> None:
    """The broker refuses a PUBLISH past its packet limit and logs it; the other devices'
    readings still all arrive."""
    ingest = Ingest(harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target)
    ingest.start()
    assert ingest.transport.subscribed.wait(10)
    try:
        _, big = harness.patient_with_device()
        _, ok = harness.patient_with_device()
        before = broker_refusals(harness.broker.root)[big.device_id]
        flooder = DevicePublisher("127.0.0.1", harness.broker.port, big.device_id, big.password)
        flooder.connect()
        flooder.publish(b"{" + b" " * (MAX_PACKET_SIZE + 10) + b"}")
        deadline = time.monotonic() + 20
        while broker_refusals(harness.broker.root)[big.device_id] <= before:
            assert time.monotonic() < deadline, "no trace of the refusal in the broker's log"
            time.sleep(0.1)
        flooder.client.loop_stop()
        flooder.client.disconnect()
        attempted = 200
        publish_spo2(harness, ok, attempted, hours_ago=1, value=96)
        deadline = time.monotonic() + 30
        while harness.count("SELECT count(*) FROM readings") < attempted:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        ingest.stop()
    refusals = broker_refusals(harness.broker.root)[big.device_id] - before
    print(f"\noversize: refused {refusals} time(s) at the broker, other device {attempted} stored")
    assert harness.count("SELECT count(*) FROM readings WHERE device_id = %s", big.device_id) == 0
    assert harness.count("SELECT count(*) FROM readings") == attempted
