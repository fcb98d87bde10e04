"""Detection's side of the stream: a durable pull consumer over the partitions a worker owns.

The consumer is only a cursor: what has been applied is recorded in the database with the
findings (see ``vigil.streaming.worker``), so a worker (re)creates its consumer at start-up
from where it must replay, and every message it is given is either replayed silently, applied,
or recognised as already applied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError

from vigil.core.models import StoredReading
from vigil.stream.codec import decode_readings
from vigil.stream.connection import NatsConnection, StreamUnavailable
from vigil.stream.subjects import partition_of, patient_of


@dataclass(frozen=True, slots=True)
class StreamMessage:
    partition: int
    seq: int
    """The stream sequence: increasing within a partition, in publish order."""
    published_at: datetime
    patient_id: UUID
    readings: tuple[StoredReading, ...]
    msg: Msg = field(repr=False, compare=False)


def stream_message(msg: Msg) -> StreamMessage:
    """A delivered message of the readings stream, decoded."""
    meta = msg.metadata
    patient_id = patient_of(msg.subject)
    return StreamMessage(
        partition_of(msg.subject),
        meta.sequence.stream,
        meta.timestamp,
        patient_id,
        decode_readings(patient_id, msg.data),
        msg,
    )


class PartitionConsumer:
    def __init__(
        self,
        conn: NatsConnection,
        *,
        name: str,
        partitions: Sequence[int],
        ack_wait_s: float = 60.0,
        max_ack_pending: int = 20_000,
        inactive_threshold_s: float = 24 * 3600,
    ) -> None:
        self.conn = conn
        self.name = name
        self.partitions = list(partitions)
        self.ack_wait_s = ack_wait_s
        self.max_ack_pending = max_ack_pending
        self.inactive_threshold_s = inactive_threshold_s
        """A consumer left by a worker that is gone for this long is removed by the server
        (a worker recreates its own at start-up in any case)."""
        self._sub: object | None = None

    def open(self, *, since: datetime | None) -> None:
        """(Re)create the durable consumer: from ``since`` (stream time), or from the first
        message the stream holds when ``since`` is None."""
        self.conn.call(lambda: self._open(since), timeout_s=30)

    async def _open(self, since: datetime | None) -> None:
        js = self.conn.js
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(self.conn.layout.stream, self.name)
        config = ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=self.max_ack_pending,
            filter_subjects=[self.conn.layout.partition_filter(p) for p in self.partitions],
            deliver_policy=DeliverPolicy.ALL if since is None else DeliverPolicy.BY_START_TIME,
            opt_start_time=since,
            inactive_threshold=self.inactive_threshold_s,
        )
        await js.add_consumer(self.conn.layout.stream, config)
        self._sub = await js.pull_subscribe_bind(durable=self.name, stream=self.conn.layout.stream)

    def fetch(self, *, max_messages: int = 500, timeout_s: float = 1.0) -> list[StreamMessage]:
        """The next messages in stream order ([] when none came within ``timeout_s``)."""
        return self.conn.call(
            lambda: self._fetch(max_messages, timeout_s), timeout_s=timeout_s + 10
        )

    async def _fetch(self, max_messages: int, timeout_s: float) -> list[StreamMessage]:
        sub = self._sub
        if sub is None:
            raise StreamUnavailable("consumer not open")
        try:
            msgs: list[Msg] = await sub.fetch(max_messages, timeout=timeout_s)  # type: ignore[attr-defined]
        except (TimeoutError, ServiceUnavailableError):
            # Nothing within the timeout, or 503 "no responders": the consumer has no leader at
            # this moment (just created on a replicated stream, or its leader moving after a
            # node loss). Either way the next fetch asks again.
            return []
        return [stream_message(msg) for msg in msgs]

    def ack(self, messages: Sequence[StreamMessage]) -> None:
        self.conn.call(lambda: self._each(messages, "ack"), timeout_s=30)

    def in_progress(self, messages: Sequence[StreamMessage]) -> None:
        """Tell the stream these are still being worked on (no redelivery meanwhile)."""
        self.conn.call(lambda: self._each(messages, "in_progress"), timeout_s=30)

    async def _each(self, messages: Sequence[StreamMessage], what: str) -> None:
        for m in messages:
            await getattr(m.msg, what)()

    def pending(self) -> int:
        """Messages of this worker's partitions not delivered yet (its lag)."""

        async def info() -> int:
            info = await self.conn.js.consumer_info(self.conn.layout.stream, self.name)
            return int(info.num_pending or 0)

        return self.conn.call(info, timeout_s=10)
