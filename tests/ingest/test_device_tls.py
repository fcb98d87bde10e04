"""Devices over TLS: the embedded broker's device listener with a certificate speaks MQTT over
TLS only. A device that trusts the CA publishes and every reading is stored; one that does not
trust it, or speaks clear MQTT to that port, gets no session. Real broker (its own), real
ingest, real device clients; the CA is a throw-away one made with openssl."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError
from tests.certs import assert_tls_only, make_ca_and_server_cert
from tests.conftest import Harness
from tests.waiting import wait_for

from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import EmbeddedMosquitto, EmbeddedNats
from vigil.servers.mosquitto import config_text
from vigil.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[EmbeddedMosquitto, Path]]:
    tmp_path.chmod(0o755)
    certs = tmp_path / "certs"
    certs.mkdir()
    ca, cert, key = make_ca_and_server_cert(certs)
    broker = EmbeddedMosquitto(tmp_path / "mosquitto", device_tls=(cert, key))
    broker.start()
    yield broker, ca
    broker.stop()


def _body(ts: datetime) -> bytes:
    reading = {"ts": ts.isoformat(), "metric": "spo2", "value": 96, "unit": "%"}
    return json.dumps({"readings": [reading]}).encode()


def test_a_device_over_tls_is_stored_and_clear_text_or_an_untrusted_ca_is_refused(
    tls_broker: tuple[EmbeddedMosquitto, Path], db_url: str, nats_server: EmbeddedNats
) -> None:
    broker, ca = tls_broker
    edge = Harness(db_url, broker, nats_server)
    _, device = edge.patient_with_device()
    ingest = Ingest(edge.settings(), database_url=db_url, mqtt=edge.ingest_target)
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(15)
        pub = DevicePublisher(
            "127.0.0.1", broker.port, device.device_id, device.password, tls_ca=ca
        )
        pub.connect()
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        attempted = 200
        infos = [pub.publish(_body(base + timedelta(seconds=i))) for i in range(attempted)]
        for info in infos:
            info.wait_for_publish(30)
        pubacked = sum(i.is_published() for i in infos)
        pub.close()

        def stored() -> int:
            with psycopg.connect(db_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM readings WHERE device_id = %s", (device.device_id,)
                ).fetchone()
            return int(row[0]) if row else 0

        wait_for(lambda: stored() >= pubacked, what="every TLS reading stored", timeout=60)
        print(f"over TLS: attempted {attempted}, PUBACKed {pubacked}, stored {stored()}")
        assert pubacked == attempted
        assert stored() == attempted

        # A device that does not trust the broker's CA does not hand over its password.
        # A device that does not trust the CA does not hand over its password; clear MQTT gets
        # no session.
        mqtt5_connect = b"\x00\x04MQTT\x05\x02\x00\x3c\x00\x00\x03abc"  # client "abc"
        assert_tls_only(broker.port, mqtt5_connect)
    finally:
        ingest.stop()


def test_the_device_listener_config_names_the_pair_and_tls_1_2_or_later(tmp_path: Path) -> None:
    text = config_text(
        root=tmp_path,
        port=8883,
        service_port=1884,
        device_host="0.0.0.0",  # noqa: S104 - a config text, nothing binds
        device_tls=(tmp_path / "c.pem", tmp_path / "k.pem"),
    )
    devices = text.split("# devices")[1].split("# Vigil's services")[0]
    assert "listener 8883 0.0.0.0" in devices
    assert f"certfile {tmp_path / 'c.pem'}" in devices
    assert f"keyfile {tmp_path / 'k.pem'}" in devices
    assert "tls_version tlsv1.2" in devices
    services = text.split("# Vigil's services")[1]
    assert "listener 1884 127.0.0.1" in services  # the services stay on loopback
    assert "certfile" not in config_text(root=tmp_path, port=1, service_port=2)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "vigil.example"])  # noqa: S104
def test_a_device_listener_off_loopback_needs_tls(host: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="TLS"):
        Settings(mqtt_device_host=host)
    pair = {"mqtt_device_tls_certfile": tmp_path / "c", "mqtt_device_tls_keyfile": tmp_path / "k"}
    assert Settings(mqtt_device_host=host, **pair).mqtt_device_host == host  # type: ignore[arg-type]


def test_the_tls_pair_is_both_or_neither(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="both"):
        Settings(mqtt_device_tls_certfile=tmp_path / "c")
    with pytest.raises(ValidationError, match="both"):
        Settings(mqtt_device_tls_keyfile=tmp_path / "k")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert Settings(mqtt_device_host=host).mqtt_device_host == host
