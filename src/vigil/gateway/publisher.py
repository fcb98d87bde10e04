"""Publishing a device's queued readings to Vigil: its own MQTT credentials, its own topic,
QoS 1, MQTT 3.1.1 (nothing the edge broker would need MQTT 5 for). A reading leaves the disk
queue only on the broker's PUBACK; after a reconnect everything unacknowledged is published
again (Vigil's store absorbs a repeat: the reading keeps its ``ts``)."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vigil.core.payload import topic_for
from vigil.gateway.config import DeviceConfig, GatewayConfig
from vigil.gateway.queue import DiskQueue

log = logging.getLogger(__name__)
KEEPALIVE_S = 30
RETRY_S = 1.0
DRAIN_S = 5.0
"""On a clean stop, how long to wait for the broker's acknowledgements of what is in flight."""


class Publisher:
    def __init__(self, cfg: GatewayConfig, device: DeviceConfig, queue: DiskQueue) -> None:
        self.device_id = device.device_id
        self.topic = topic_for(device.device_id)
        self.queue = queue
        self.window = cfg.inflight
        self._host, self._port = cfg.mqtt_host, cfg.mqtt_port
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=device.device_id,  # the broker requires user name = client id
            protocol=mqtt.MQTTv311,
            clean_session=True,  # the disk queue, not the broker session, keeps what is unsent
        )
        self.client.username_pw_set(device.device_id, device.password)
        if cfg.mqtt_tls:
            self.client.tls_set(ca_certs=str(cfg.mqtt_ca_file) if cfg.mqtt_ca_file else None)
        self.client.max_inflight_messages_set(self.window)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: collections.deque[int] = collections.deque()
        self._connected = threading.Event()
        self._reset = threading.Event()
        self.inflight: dict[int, int] = {}
        """MQTT message id -> queue row, touched only on the event loop."""
        self.published = 0
        self.acknowledged = 0

    # paho's network thread: hand over to the loop, nothing else (paho holds its own locks).
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("device %s: broker refused the connection: %s", self.device_id, reason)
            return
        log.info("device %s: connected to Vigil's broker", self.device_id)
        self._reset.set()
        self._connected.set()
        self.wake()

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        log.warning(
            "device %s: cannot reach Vigil's broker at %s:%d; readings stay queued",
            self.device_id,
            self._host,
            self._port,
        )

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, p: Any) -> None:
        self._connected.clear()
        log.info("device %s: disconnected from the broker (%s)", self.device_id, reason)

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, props: Any) -> None:
        self._acks.append(mid)
        self.wake()

    def wake(self) -> None:
        """Something to do: a reading queued, an acknowledgement, a connection."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.client.connect_async(self._host, self._port, keepalive=KEEPALIVE_S)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    async def drain(self, timeout_s: float = DRAIN_S) -> None:
        """On a clean stop, wait (at most ``timeout_s``) for the PUBACKs of what is in flight,
        so that a reading the broker has taken leaves the disk queue now rather than being sent
        again on the next start. Not connected, or nothing in flight: return at once."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._wake.clear()
            if self._reset.is_set():
                return  # a new connection: what was in flight will be sent again anyway
            self._take_acks()
            remaining = deadline - loop.time()
            if not self.inflight or not self._connected.is_set() or remaining <= 0:
                if self.inflight:
                    log.info(
                        "device %s: stopping with %d readings unacknowledged; they stay queued",
                        self.device_id,
                        len(self.inflight),
                    )
                return
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                continue  # one last look at the acknowledgements, then out

    def _take_acks(self) -> None:
        while self._acks:
            row = self.inflight.pop(self._acks.popleft(), None)
            if row is not None:
                self.queue.acknowledged(row)
                self.acknowledged += 1

    async def run(self) -> None:
        """Publish what is queued, within the window, until cancelled. A failure (the disk
        queue unreadable for a moment) is logged and retried, never the end of publishing."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                self._publish_some()
            except Exception:
                log.exception("device %s: publishing failed; retrying", self.device_id)
                await asyncio.sleep(RETRY_S)
                self._wake.set()

    def _publish_some(self) -> None:
        if self._reset.is_set():  # a new connection: re-send whatever was in flight
            self._reset.clear()
            self._acks.clear()
            self.inflight.clear()
        self._take_acks()
        if not self._connected.is_set():
            return
        room = self.window - len(self.inflight)
        if room <= 0:
            return
        rows = self.queue.pending(self.device_id, exclude=set(self.inflight.values()), limit=room)
        for row in rows:
            info = self.client.publish(self.topic, row.payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break  # disconnected: the next connection re-sends
            self.inflight[info.mid] = row.id
            self.published += 1
