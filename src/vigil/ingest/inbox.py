"""Ingest's inbox: messages taken off the broker at once, batched fairly across devices.

The broker hands ingest a single first-in-first-out queue. If ingest took a message from it
only when it was ready to store it, a device flooding faster than ingest stores would put
every other device behind its backlog. So the transport takes messages as fast as the broker
sends them (up to the session's receive maximum, unacknowledged: if ingest dies, the broker
redelivers them from the persistent session) and puts each in its device's queue here; a batch
is then built round-robin across devices, so another device's message goes into the next batch
whatever the flood has queued. Each device's messages stay in arrival order.

Memory is bounded: past ``max_messages`` or ``max_bytes`` queued, :meth:`FairInbox.put` blocks
the broker's network thread until the service has taken messages (the broker then holds the
rest, as it does past the receive maximum), and says so once in the log and in
:attr:`FairInbox.full_waits` (and ``vigil_ingest_inbox_full_total``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque

from vigil.ingest import metrics
from vigil.ingest.models import InboundMessage

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD_BYTES = 256
"""Counted per queued message beside its payload and topic (the objects around them)."""


def _size(message: InboundMessage) -> int:
    return len(message.payload) + len(message.topic) + MESSAGE_OVERHEAD_BYTES


class FairInbox:
    """Per-device FIFO queues, drained round-robin. ``put`` from one thread (the transport's),
    ``take`` from another (the service's)."""

    def __init__(self, *, max_messages: int = 100_000, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._queues: OrderedDict[str, deque[InboundMessage]] = OrderedDict()
        """Devices (by topic) with queued messages, in the order the next batch visits them."""
        self._count = 0
        self._bytes = 0
        self._closed = False
        self._cond = threading.Condition()
        self.full_waits = 0
        """Times ``put`` had to wait for room (the cap was reached)."""

    def __len__(self) -> int:
        return self._count

    @property
    def queued_bytes(self) -> int:
        return self._bytes

    def _full(self) -> bool:
        return self._count > 0 and (
            self._count >= self.max_messages or self._bytes >= self.max_bytes
        )

    def put(self, message: InboundMessage) -> None:
        """Queue ``message`` behind its device's earlier ones; wait while the inbox is full
        (never when it is empty, so one message larger than the cap still goes in)."""
        size = _size(message)
        with self._cond:
            if self._full() and not self._closed:
                self.full_waits += 1
                metrics.INBOX_FULL.inc()
                log.warning(
                    "ingest inbox full (%d messages, %d bytes; caps %d, %d): receiving paused"
                    " until ingest has stored some, the broker holds the rest",
                    self._count,
                    self._bytes,
                    self.max_messages,
                    self.max_bytes,
                )
                while self._full() and not self._closed:
                    self._cond.wait(1.0)
            queue = self._queues.get(message.topic)
            if queue is None:
                queue = self._queues[message.topic] = deque()
            queue.append(message)
            self._count += 1
            self._bytes += size
            self._cond.notify_all()

    def take(self, max_messages: int, *, wait_s: float, fill_s: float) -> list[InboundMessage]:
        """A batch of up to ``max_messages``: waits up to ``wait_s`` for a first message, then
        up to ``fill_s`` more for the batch to fill. Devices are visited round-robin, one
        message each per round, starting after the device the previous batch ended with."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._count > 0, wait_s):
                return []
            deadline = time.monotonic() + fill_s
            while self._count < max_messages and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._cond.wait(remaining):
                    break
            batch: list[InboundMessage] = []
            while self._queues and len(batch) < max_messages:
                topic, queue = next(iter(self._queues.items()))
                message = queue.popleft()
                batch.append(message)
                self._count -= 1
                self._bytes -= _size(message)
                if queue:
                    self._queues.move_to_end(topic)
                else:
                    del self._queues[topic]
            self._cond.notify_all()
            return batch

    def close(self) -> None:
        """Stop waiting for room: a blocked ``put`` goes through (ingest is stopping; what it
        has not acknowledged, the broker redelivers) and ``take`` no longer waits to fill."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
