"""Run ingest: transport + service wired together, for `vigil serve` and `vigil ingest`."""

from __future__ import annotations

import logging

from vigil.ingest.edge_transport import EdgeTransport
from vigil.ingest.inbox import FairInbox
from vigil.ingest.service import IngestService, ReadingSink, StartedSink
from vigil.ingest.transport import MqttTransport
from vigil.servers.stack import MqttTarget
from vigil.settings import Settings

log = logging.getLogger(__name__)

SHARED_GROUP_WARNING = (
    "ingest subscribes in the shared group %r: with Mosquitto 2.0 a broker restart while every"
    " instance is away loses what devices publish until one reconnects (the broker does not"
    " restore shared subscriptions; docs/ingest.md, Scaling out). Unset VIGIL_MQTT_SHARED_GROUP"
    " for a single instance that loses nothing across restarts"
)


class Ingest:
    """The ingest stage: subscribe, store, hand on (the sink takes each committed batch), then
    acknowledge."""

    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str,
        mqtt: MqttTarget,
        sink: ReadingSink | None = None,
        nats_url: str | None = None,
        sink_started: StartedSink | None = None,
    ) -> None:
        """``nats_url``: where the NATS edge's capture stream is, read when
        ``settings.edge`` is ``nats`` (vigil.ingest.edge_transport). ``sink_started``: the
        sink's form that does not wait (the service pipelines its batches)."""
        # Bounded by the broker's flow control (the receive maximum) and the inbox's own caps.
        self.inbox = FairInbox(
            max_messages=settings.ingest_inbox_max_messages,
            max_bytes=settings.ingest_inbox_max_bytes,
        )
        self.transport: MqttTransport | EdgeTransport
        if settings.edge == "nats":
            if nats_url is None:
                raise ValueError("the NATS edge needs the NATS URL its stream is on")
            self.transport = EdgeTransport(nats_url, inbox=self.inbox)
        else:
            self.transport = self._mqtt_transport(settings, mqtt)
        self.service = IngestService(
            settings=settings,
            database_url=database_url,
            inbox=self.inbox,
            ack=self.transport.ack,
            sink=sink,
            sink_started=sink_started,
            ack_many=(
                self.transport.ack_many if isinstance(self.transport, EdgeTransport) else None
            ),
        )

    def _mqtt_transport(self, settings: Settings, mqtt: MqttTarget) -> MqttTransport:
        return MqttTransport(
            mqtt,
            client_id=settings.mqtt_client_id,
            inbox=self.inbox,
            shared_group=settings.mqtt_shared_group,
            receive_maximum=settings.mqtt_receive_maximum,
            session_expiry_s=settings.mqtt_session_expiry_s,
        )

    def start(self) -> None:
        if self.transport.shared_group:
            log.warning(SHARED_GROUP_WARNING, self.transport.shared_group)
        self.service.start()
        self.transport.start()

    def stop(self) -> None:
        self.inbox.close()  # a network thread waiting for room must not hold up the stop
        self.transport.stop()
        self.service.stop()
