"""Run ingest: transport + service wired together, for `vigil serve` and `vigil ingest`."""

from __future__ import annotations

import queue

from vigil.ingest.models import InboundMessage
from vigil.ingest.service import IngestService, ReadingSink
from vigil.ingest.transport import MqttTransport
from vigil.servers.stack import MqttTarget
from vigil.settings import Settings


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
    ) -> None:
        # Bounded by the broker's flow control (receive maximum), not by this queue.
        inbox: queue.Queue[InboundMessage] = queue.Queue()
        self.transport = MqttTransport(
            mqtt,
            client_id=settings.mqtt_client_id,
            inbox=inbox,
            shared_group=settings.mqtt_shared_group,
            receive_maximum=settings.mqtt_receive_maximum,
            session_expiry_s=settings.mqtt_session_expiry_s,
        )
        self.service = IngestService(
            settings=settings,
            database_url=database_url,
            inbox=inbox,
            ack=self.transport.ack,
            sink=sink,
        )

    def start(self) -> None:
        self.service.start()
        self.transport.start()

    def stop(self) -> None:
        self.transport.stop()
        self.service.stop()
