"""`vigil bench ingest`, second half: the same full ingest path on the NATS edge, and its
recovery after a kill -9.

The edge runs in a state folder of its own (its NATS server with the MQTT listener) beside the
database of the first half; its devices are provisioned anew (bcrypt credentials). Recovery is
measured from the moment the killed server is started again to a device's first PUBACK.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from paho.mqtt.enums import MQTTProtocolVersion

from vigil.bench.ingest import BenchDevice, counts, full_path, provision
from vigil.ingest.publisher import DevicePublisher
from vigil.servers.nats import EmbeddedNats
from vigil.servers.stack import Servers, start_servers
from vigil.settings import Settings


def run_edge(
    settings: Settings, database_url: str, *, readings: int, devices: int
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-edge-"))
    tmp.chmod(0o755)
    edge_settings = settings.model_copy(
        update={
            "mqtt_edge": "nats",
            "database_url": database_url,
            "mqtt_url": None,
            "nats_url": None,
            "state_dir": tmp,
        }
    )
    servers = start_servers(edge_settings)
    restarted: EmbeddedNats | None = None
    try:
        fleet = provision(servers, devices)
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        figures = full_path(edge_settings, servers, fleet, start, readings)
        rows, distinct = counts(servers, fleet, start)
        restarted, recovery_s = _recovery(servers, fleet[0], start - timedelta(hours=1))
        return {
            "edge_readings_per_s": figures["readings_per_s"],
            "edge_p50_ms": figures["p50_ms"],
            "edge_p99_ms": figures["p99_ms"],
            "edge_lost": readings - distinct,
            "edge_duplicated": rows - distinct,
            "edge_recovery_s": recovery_s,
        }
    finally:
        servers.close()
        if restarted is not None:
            restarted.stop()  # the server started again here is not the stack's to stop
        shutil.rmtree(tmp, ignore_errors=True)


def _recovery(servers: Servers, device: BenchDevice, ts: datetime) -> tuple[EmbeddedNats, float]:
    """kill -9 the edge, start it again, and time until a reading of ``device`` is PUBACKed."""
    assert servers.broker_root is not None
    server = EmbeddedNats(servers.broker_root)
    ports = server.running_ports()
    assert ports is not None, "the bench's edge is not running"
    server.port, server.http_port = ports
    server.kill()
    began = time.monotonic()
    server.start(wait=False)
    body = json.dumps({"readings": [{"ts": ts.isoformat(), "metric": "spo2", "value": 97}]})
    while True:
        pub = DevicePublisher(
            "127.0.0.1",
            servers.device_port,
            device.device_id,
            device.password,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        try:
            pub.connect(timeout=2)
            info = pub.publish(body.encode())
            info.wait_for_publish(10)
            if info.is_published():
                return server, round(time.monotonic() - began, 3)
        except (ConnectionError, OSError, RuntimeError):
            if time.monotonic() - began > 60:
                raise
        finally:
            pub.close()
        time.sleep(0.05)
