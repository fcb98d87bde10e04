"""A device-side publisher: a real paho client that publishes as one device at QoS 1.

Used by the ingest benchmark and tests; the simulator can use it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from vigil.core.payload import topic_for


class DevicePublisher:
    """Connects as ``device_id`` (user name = client id) and publishes payloads at QoS 1."""

    def __init__(
        self,
        host: str,
        port: int,
        device_id: str,
        password: str,
        *,
        inflight: int = 100,
        tls_ca: Path | None = None,
        protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
        clean: bool = True,
    ) -> None:
        """``tls_ca``: connect over TLS, trusting the broker's certificate from that CA file
        (host name checked). ``protocol``: MQTT 3.1.1 for the NATS edge (it speaks no MQTT
        5); ``clean`` False keeps the session (3.1.1's clean session flag)."""
        self.device_id = device_id
        self.topic = topic_for(device_id)
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=device_id,
            protocol=protocol,
            clean_session=None if protocol == MQTTProtocolVersion.MQTTv5 else clean,
        )
        self.client.username_pw_set(device_id, password)
        if tls_ca is not None:
            self.client.tls_set(ca_certs=str(tls_ca))
        self.client.max_inflight_messages_set(inflight)
        self.client.max_queued_messages_set(0)
        self._connected = threading.Event()
        self.refused: list[str] = []
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.on_acked: Callable[[int, float], None] | None = None
        self._host, self._port = host, port

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:  # type: ignore[no-untyped-def]
        if reason.is_failure:
            self.refused.append(str(reason))
        else:
            self._connected.set()

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:  # type: ignore[no-untyped-def]
        if reason.is_failure:
            self.refused.append(str(reason))
        if self.on_acked is not None:
            self.on_acked(mid, time.monotonic())

    def connect(self, timeout: float = 10.0) -> None:
        self.client.connect(self._host, self._port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.client.loop_stop()
            raise ConnectionError(f"{self.device_id}: not connected ({self.refused or 'timeout'})")

    def publish(self, payload: bytes, *, topic: str | None = None) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic or self.topic, payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
