"""Ingest: MQTT readings into TimescaleDB, acknowledged only after commit."""

from vigil.ingest.inbox import FairInbox
from vigil.ingest.models import InboundMessage, IngestStats, RejectedRow
from vigil.ingest.publisher import DevicePublisher
from vigil.ingest.repo import store_rejections
from vigil.ingest.runner import Ingest
from vigil.ingest.service import IngestService, ReadingSink
from vigil.ingest.transport import MqttTransport

__all__ = [
    "DevicePublisher",
    "FairInbox",
    "InboundMessage",
    "Ingest",
    "IngestService",
    "IngestStats",
    "MqttTransport",
    "ReadingSink",
    "RejectedRow",
    "store_rejections",
]
