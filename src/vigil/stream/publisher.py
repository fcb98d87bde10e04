"""Ingest's side of the stream: hand stored readings on, acknowledged by the stream.

A batch is published asynchronously (pipelined) and waited for as a whole; each message carries
``Nats-Msg-Id`` = its key, so a re-publish after a crash or a redelivered MQTT message is
dropped by the stream (counted as a duplicate), not scored twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from vigil.core.models import StoredMessage
from vigil.stream.codec import encode_readings
from vigil.stream.connection import NatsConnection, StreamUnavailable


@dataclass(frozen=True, slots=True)
class Published:
    messages: int
    duplicates: int


class StreamPublisher:
    def __init__(self, conn: NatsConnection, *, ack_timeout_s: float = 10.0) -> None:
        self.conn = conn
        self.ack_timeout_s = ack_timeout_s

    def publish(self, messages: Sequence[StoredMessage]) -> Published:
        """Publish and wait until the stream has stored every message (or raise
        :class:`StreamUnavailable`; publishing the same messages again is then safe)."""
        if not messages:
            return Published(0, 0)
        return self.conn.call(lambda: self._publish(messages), timeout_s=self.ack_timeout_s + 5)

    def publish_started(self, messages: Sequence[StoredMessage]) -> Future[Published]:
        """:meth:`publish` without waiting: the messages are sent in call order (a later call's
        after an earlier one's) and the future ends when the stream has stored every one (or
        raises :class:`StreamUnavailable`, after ``ack_timeout_s`` at most)."""
        return self.conn.spawn(lambda: self._publish(messages))  # type: ignore[return-value]

    async def _publish(self, messages: Sequence[StoredMessage]) -> Published:
        js, layout = self.conn.js, self.conn.layout
        pending = [
            await js.publish_async(
                layout.inbound_subject(m.patient_id),
                encode_readings(m.readings),
                stream=layout.stream,
                headers={"Nats-Msg-Id": m.key},
            )
            for m in messages
        ]
        try:
            acks = await asyncio.wait_for(asyncio.gather(*pending), self.ack_timeout_s)
        except TimeoutError as exc:
            raise StreamUnavailable(
                f"the stream did not acknowledge {len(messages)} messages in time"
            ) from exc
        except Exception as exc:
            raise StreamUnavailable(f"the stream refused a message: {exc}") from exc
        return Published(len(acks), sum(1 for a in acks if a.duplicate))
