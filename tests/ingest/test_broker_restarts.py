"""Broker and ingest start and stop in every order; every PUBACKed reading is stored.

Each test has a broker of its own (restarting the session's broker would disturb the others).
A shared subscription is measured beside the direct one: Mosquitto 2.0.11 does not restore a
persisted session's shared subscription, so with ingest away across a broker restart nothing
is queued for it (pinned below, so an upgrade that fixes it shows up).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.conftest import Harness

from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import EmbeddedMosquitto, EmbeddedNats

pytestmark = pytest.mark.slow


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedMosquitto]:
    tmp_path.chmod(0o755)
    broker = EmbeddedMosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def edge(db_url: str, own_broker: EmbeddedMosquitto, nats_server: EmbeddedNats) -> Harness:
    return Harness(db_url, own_broker, nats_server)


def _ingest(edge: Harness, group: str | None) -> Ingest:
    ingest = Ingest(
        edge.settings(mqtt_shared_group=group), database_url=edge.db_url, mqtt=edge.ingest_target
    )
    ingest.start()
    assert ingest.transport.subscribed.wait(15), "ingest never subscribed"
    return ingest


def _publish(edge: Harness, device_id: str, password: str, n: int, start: datetime) -> int:
    """Publish ``n`` one-reading messages; returns how many the broker PUBACKed with success."""
    pub = DevicePublisher("127.0.0.1", edge.broker.port, device_id, password, inflight=100)
    pub.connect()
    infos = [
        pub.publish(
            json.dumps(
                {
                    "readings": [
                        {
                            "ts": (start + timedelta(seconds=i)).isoformat(),
                            "metric": "heart_rate",
                            "value": 60 + i % 40,
                            "unit": "/min",
                        }
                    ]
                }
            ).encode()
        )
        for i in range(n)
    ]
    for info in infos:
        info.wait_for_publish(30)
    pub.close()
    return sum(info.is_published() for info in infos) - len(pub.refused)


def _stored(edge: Harness, device_id: str) -> int:
    return edge.count("SELECT count(*) FROM readings WHERE device_id = %s", device_id)


def _wait_stored(edge: Harness, device_id: str, expected: int, timeout: float = 90) -> int:
    """Poll until ``expected`` readings are stored or the deadline passes; the count either way."""
    deadline = time.monotonic() + timeout
    while (stored := _stored(edge, device_id)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return stored


def _wait_quiet(edge: Harness, device_id: str, settle_s: float = 3.0, timeout: float = 30) -> int:
    """For an outcome expected to fall short: the count once it stops moving for ``settle_s``."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = _stored(edge, device_id)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > settle_s:
            break
        time.sleep(0.2)
    return last


def _wait_autosave(edge: Harness, *, after: float) -> None:
    """Until the broker has written its persistence file after ``after`` (epoch seconds)."""
    db_file = edge.broker.root / "mosquitto.db"
    deadline = time.monotonic() + 60
    while not (db_file.exists() and os.stat(db_file).st_mtime > after + 0.05):
        assert time.monotonic() < deadline, "the broker never autosaved"
        time.sleep(0.2)


def _report(kind: str, attempted: int, pubacked: int, stored: int) -> None:
    print(
        f"\n{kind}: attempted {attempted}, pubacked {pubacked}, stored {stored},"
        f" lost {pubacked - stored}"
    )


@pytest.mark.parametrize("group", [None, "shared"], ids=["direct", "shared-group"])
def test_broker_restart_while_ingest_is_away(
    edge: Harness, group: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    group = group and edge.ingest_user
    _, creds = edge.patient_with_device()
    _ingest(edge, group).stop()  # its session and subscription persist
    edge.broker.stop()
    edge.broker.start()
    attempted = 2000
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    pubacked = _publish(edge, creds.device_id, creds.password, attempted, start)
    ingest = _ingest(edge, group)
    try:
        if group is None:
            stored = _wait_stored(edge, creds.device_id, pubacked)
        else:
            stored = _wait_quiet(edge, creds.device_id)
    finally:
        ingest.stop()
    _report(
        f"broker restart, ingest away ({(group and 'shared') or 'direct'})",
        attempted,
        pubacked,
        stored,
    )
    assert pubacked == attempted
    if group is None:
        assert stored == pubacked
    else:
        assert stored < pubacked  # Mosquitto 2.0.11: the shared subscription was not restored
    # The operator is told of the trade-off when a group is configured, and only then.
    warned = [r for r in caplog.records if "shared group" in r.getMessage()]
    assert bool(warned) == (group is not None)
    assert all(r.levelname == "WARNING" for r in warned)


def test_broker_killed_after_autosave_while_ingest_is_away(edge: Harness) -> None:
    _, creds = edge.patient_with_device()
    _ingest(edge, None).stop()
    attempted = 5000
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    pubacked = _publish(edge, creds.device_id, creds.password, attempted, start)
    _wait_autosave(edge, after=time.time())
    edge.broker.kill()
    edge.broker.start()
    ingest = _ingest(edge, None)
    try:
        stored = _wait_stored(edge, creds.device_id, pubacked)
    finally:
        ingest.stop()
    _report("broker kill -9 after autosave, ingest away", attempted, pubacked, stored)
    assert pubacked == attempted
    assert stored == pubacked


def test_host_reboot_with_the_broker_first(edge: Harness) -> None:
    """Both go down at once (the broker crashes, ingest never says goodbye); the broker comes
    back first and devices publish before ingest is up."""
    _, creds = edge.patient_with_device()
    ingest = _ingest(edge, None)
    _wait_autosave(edge, after=time.time())  # ingest's session is on disk
    edge.broker.kill()
    ingest.stop()
    edge.broker.start()
    attempted = 2000
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    pubacked = _publish(edge, creds.device_id, creds.password, attempted, start)
    ingest = _ingest(edge, None)
    try:
        stored = _wait_stored(edge, creds.device_id, pubacked)
    finally:
        ingest.stop()
    _report("reboot, broker first", attempted, pubacked, stored)
    assert stored == pubacked == attempted


def test_ingest_running_through_a_broker_restart_subscribes_again(edge: Harness) -> None:
    _, creds = edge.patient_with_device()
    ingest = _ingest(edge, None)
    try:
        edge.broker.stop()
        edge.broker.start()
        deadline = time.monotonic() + 30
        while ingest.transport.subscriptions < 2:
            assert time.monotonic() < deadline, "ingest did not subscribe again"
            time.sleep(0.1)
        attempted = 2000
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        pubacked = _publish(edge, creds.device_id, creds.password, attempted, start)
        stored = _wait_stored(edge, creds.device_id, pubacked)
    finally:
        ingest.stop()
    _report("broker restart, ingest running", attempted, pubacked, stored)
    assert stored == pubacked == attempted
