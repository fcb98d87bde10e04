"""The MQTT transport: one class owns the paho client, its session and its subscriptions.

No-loss choices: MQTT 5 with a fixed client id, clean start off and a session expiry, so the
broker keeps queueing while Vigil is down; QoS 1; manual acknowledgements, sent only after the
readings are committed. The receive maximum is large (65,535, MQTT's most) so that the broker
sends ingest everything it holds at once and a flooding device's backlog waits in ingest's
per-device queues (:mod:`vigil.ingest.inbox`), not ahead of other devices in the broker's single
queue; unacknowledged, so the broker still redelivers them if ingest dies. Memory is bounded by
the inbox's caps, past which receiving pauses and the broker holds the rest.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX
from vigil.ingest.inbox import FairInbox
from vigil.ingest.models import InboundMessage
from vigil.servers.stack import MqttTarget

log = logging.getLogger(__name__)

READINGS_FILTER = f"{TOPIC_PREFIX}+{TOPIC_SUFFIX}"


class BufferedClient(mqtt.Client):
    """paho's client, reading its socket up to 64 KiB at a time.

    paho 2.2 reads a packet with at least three ``recv`` calls (the command byte, each byte of
    the remaining length, the rest) and one packet per ``select``. Every system call releases
    the GIL, and taking it back waits for the thread that holds it to let go (up to the
    interpreter's switch interval, 5 ms): while ingest's batch thread is busy, each inbound
    message cost paho's network thread several such waits, and under a flood the readings of
    every other device queued in the socket behind the flood (docs/ingest.md, *A flooding
    device*). Here one ``recv`` takes what the socket holds and paho's packet reader is served
    from that buffer; every packet complete in it is handled before the next ``select``, at
    most :attr:`max_packets` at a time so that writes (the acks) are not held back.

    It overrides three of paho's private methods (``_sock_recv``, ``_sock_close``, ``_loop``);
    the version is pinned and ``tests/ingest/test_transport.py`` checks packets split across
    reads and a reconnect.
    """

    chunk = 65_536
    max_packets = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._rbuf = b""
        self._rpos = 0
        super().__init__(*args, **kwargs)

    def buffered(self) -> int:
        """Bytes read from the socket and not yet handed to paho's packet reader."""
        return len(self._rbuf) - self._rpos

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(max(bufsize, self.chunk))
            if len(data) <= bufsize:
                self._rbuf, self._rpos = b"", 0
                return data  # b"" (the connection closed) included
            self._rbuf, self._rpos = data, 0
        out = self._rbuf[self._rpos : self._rpos + bufsize]
        self._rpos += len(out)
        return out

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0  # bytes of a closed connection are never read again
        super()._sock_close()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        n = 1
        while (
            rc == MQTTErrorCode.MQTT_ERR_SUCCESS
            and self.buffered()
            and self._sock is not None
            and n < self.max_packets
        ):
            rc = super().loop_read(1)
            n += 1
        return rc

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        # Packets already read are handled first; select() would not wake for them.
        if self.buffered() and self._sock is not None:
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
            if self.buffered():
                timeout = 0.0
        return super()._loop(timeout)


class MqttTransport:
    """Connects, (re)subscribes, and puts every inbound message in ``inbox`` (which may make
    paho's network thread wait while the inbox is full)."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        client_id: str,
        inbox: FairInbox,
        shared_group: str | None = None,
        receive_maximum: int = 65_535,
        session_expiry_s: int = 7 * 24 * 3600,
    ) -> None:
        self.target = target
        self.inbox = inbox
        self.mount_point = target.mount_point
        self.shared_group = shared_group
        readings = f"{target.mount_point}{READINGS_FILTER}"
        self.topic_filter = f"$share/{shared_group}/{readings}" if shared_group else readings
        self.receive_maximum = receive_maximum
        self.session_expiry_s = session_expiry_s
        self.generation = 0
        self.connected = threading.Event()
        self.callback_errors = 0
        self.subscriptions = 0
        """Granted SUBSCRIBEs: one per connection (every connect subscribes again, since
        Mosquitto 2.0 does not restore a persisted session's shared subscription)."""
        self._stopping = False
        self._lock = threading.Lock()
        self.client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        self.client.username_pw_set(target.username, target.password)
        self.client.max_inflight_messages_set(receive_maximum)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.subscribed = threading.Event()

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = self.receive_maximum
        self.client.connect_async(
            self.target.host, self.target.port, keepalive=30, clean_start=False, properties=props
        )
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def ack(self, message: InboundMessage) -> bool:
        """Acknowledge ``message`` if it came on the current connection.

        After a reconnect the broker redelivers every unacknowledged message (persistent
        session) and mids are reused, so an ack for an older connection is dropped, never sent.
        """
        with self._lock:
            if message.generation != self.generation or message.qos == 0:
                return False
            self.client.ack(message.mid, message.qos)
            return True

    # Callbacks run on paho's network thread: each is wrapped so that one bad message cannot
    # stop the loop.
    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        try:
            if reason.is_failure:
                log.error("broker refused connection: %s", reason)
                return
            with self._lock:
                self.generation += 1
            log.info(
                "connected to broker (session present: %s), subscribing to %s",
                flags.session_present,
                self.topic_filter,
            )
            client.subscribe(self.topic_filter, qos=1)
            self.connected.set()
        except Exception:
            self.callback_errors += 1
            log.exception("error in on_connect")

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("subscription to %s refused: %s", self.topic_filter, failed)
            return
        log.info("subscribed to %s", self.topic_filter)
        self.subscriptions += 1
        self.subscribed.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()  # set again when this session's next connection has subscribed
        if reason.is_failure and not self._stopping:
            log.warning("disconnected from broker: %s; paho reconnects", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
            if self.mount_point and topic.startswith(self.mount_point):
                topic = topic[len(self.mount_point) :]
            self.inbox.put(
                InboundMessage(
                    topic=topic,
                    payload=bytes(msg.payload),
                    mid=msg.mid,
                    qos=msg.qos,
                    retain=bool(msg.retain),
                    received_at=datetime.now(UTC),
                    generation=self.generation,
                )
            )
        except Exception:
            self.callback_errors += 1
            log.exception("error queueing message mid=%s topic=%s", msg.mid, msg.topic)
