"""`vigil bench ingest`, last figure: the NATS edge's recovery after a kill -9, measured from
the moment the killed server is started again to a device's first PUBACK.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from paho.mqtt.enums import MQTTProtocolVersion

from vigil.bench.ingest import BenchDevice
from vigil.ingest.publisher import DevicePublisher
from vigil.servers.nats import EmbeddedNats
from vigil.servers.stack import Servers


def recovery(servers: Servers, device: BenchDevice, ts: datetime) -> tuple[EmbeddedNats, float]:
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
