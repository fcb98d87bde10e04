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
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from vigil.core.payload import TOPIC_PREFIX, TOPIC_SUFFIX
from vigil.ingest.inbox import FairInbox
from vigil.ingest.models import InboundMessage
from vigil.servers.stack import MqttTarget

log = logging.getLogger(__name__)

READINGS_FILTER = f"{TOPIC_PREFIX}+{TOPIC_SUFFIX}"


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
        self.client = mqtt.Client(
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
