"""The hand-off from ingest to detection: a NATS JetStream stream partitioned by patient."""

from vigil.stream.codec import decode_readings, encode_readings, message_key
from vigil.stream.connection import NatsConnection, StreamUnavailable
from vigil.stream.consumer import PartitionConsumer, StreamMessage
from vigil.stream.pinned import PartitionState, PinnedPartitions, Pulled
from vigil.stream.publisher import Published, StreamPublisher
from vigil.stream.setup import connect_stream, ensure_stream, layout_from, stream_config
from vigil.stream.subjects import StreamLayout, partition_of

__all__ = [
    "NatsConnection",
    "PartitionConsumer",
    "PartitionState",
    "PinnedPartitions",
    "Published",
    "Pulled",
    "StreamLayout",
    "StreamMessage",
    "StreamPublisher",
    "StreamUnavailable",
    "connect_stream",
    "decode_readings",
    "encode_readings",
    "ensure_stream",
    "layout_from",
    "message_key",
    "partition_of",
    "stream_config",
]
