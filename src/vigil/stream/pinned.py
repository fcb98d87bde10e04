"""One owner per partition, handed out by JetStream: a pinned-client priority group.

Every detect worker pulls from every partition's durable consumer (``<prefix>-p<N>``), all in
the priority group ``detect`` with the ``pinned_client`` policy (NATS server 2.11+, ADR-42).
The server delivers a partition's messages to one client, whose deliveries carry a
``Nats-Pin-Id``; that client then pulls with the id, and any other client's pulls stay empty.
When the pinned client makes no pull for ``pin_timeout_s`` (dead, or stuck so long that its
queue stopped it pulling), the server pins the next client that pulls and answers the old id
with ``423``. So workers need no ordinal and may come and go at will.

The server does not promise exclusivity at every instant (a stalled client may still believe
it is pinned), which is why the database fences what a worker commits
(:func:`vigil.streaming.repo.record_progress`) and why a worker that gains a partition catches
up from the stream itself (:meth:`PinnedPartitions.replay`), not from the consumer's cursor:
messages that the previous owner held unacknowledged come back later, out of order, and are
recognised then as already handled.

nats-py 2.16 has no priority-group API, so the consumer's configuration and the pull requests
are the JetStream API's own JSON (``$JS.API.CONSUMER.CREATE`` and ``.MSG.NEXT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import queue
import uuid
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from vigil.stream.connection import NatsConnection, StreamUnavailable
from vigil.stream.consumer import StreamMessage, stream_message

log = logging.getLogger(__name__)

GROUP = "detect"
PIN_HEADER = "Nats-Pin-Id"
NS = 1_000_000_000


@dataclass(slots=True)
class Pulled:
    """What a worker takes at once: messages in arrival order (each partition's in stream
    order), and the partitions it was handed or lost since the last take (a partition in both
    was lost, then handed back: lose it first, then take it again)."""

    messages: list[StreamMessage] = field(default_factory=list)
    gained: set[int] = field(default_factory=set)
    lost: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class PartitionState:
    partition: int
    lag: int
    """Messages not yet acknowledged: not delivered, or delivered and not acknowledged."""
    pinned: bool


class PinnedPartitions:
    def __init__(
        self,
        conn: NatsConnection,
        *,
        prefix: str = "detect",
        pin_timeout_s: float = 10.0,
        ack_wait_s: float = 10.0,
        max_ack_pending: int = 5000,
        pull_batch: int = 200,
        queue_max: int = 2000,
    ) -> None:
        self.conn = conn
        self.prefix = prefix
        self.partitions = list(range(conn.layout.partitions))
        self.pin_timeout_s = pin_timeout_s
        self.ack_wait_s = ack_wait_s
        """Short: what a dead owner held unacknowledged comes back after it, to be recognised
        (the next owner read it from the stream already); a redelivery to a slow live owner is
        recognised the same way."""
        self.max_ack_pending = max_ack_pending
        self.pull_batch = pull_batch
        self.queue_max = queue_max
        """Messages pulled and not taken yet: past it the worker stops pulling, so a worker
        that stopped taking (stuck) loses its pins after ``pin_timeout_s``."""
        self._pins: dict[int, str] = {}
        self._queue: queue.Queue[tuple[str, int, StreamMessage | None]] = queue.Queue()
        self._pullers: list[futures.Future[object]] = []
        self._stopping = False

    def consumer_name(self, partition: int) -> str:
        return f"{self.prefix}-p{partition}"

    # -- set-up ------------------------------------------------------------------------------

    def ensure(self) -> None:
        """Create every partition's consumer (the same configuration from every worker, so
        creating an existing one changes nothing)."""
        self.conn.call(self._ensure, timeout_s=60)

    async def _ensure(self) -> None:
        stream = self.conn.layout.stream
        for p in self.partitions:
            name = self.consumer_name(p)
            config = {
                "durable_name": name,
                "ack_policy": "explicit",
                "ack_wait": int(self.ack_wait_s * NS),
                "max_ack_pending": self.max_ack_pending,
                "filter_subject": self.conn.layout.partition_filter(p),
                "deliver_policy": "all",
                "priority_groups": [GROUP],
                "priority_policy": "pinned_client",
                "priority_timeout": int(self.pin_timeout_s * NS),
            }
            body = json.dumps({"stream_name": stream, "config": config}).encode()
            reply = await self.conn.client.request(
                f"$JS.API.CONSUMER.CREATE.{stream}.{name}", body, timeout=10
            )
            answer = json.loads(reply.data)
            if "error" in answer:
                raise StreamUnavailable(
                    f"consumer {name} of {stream} could not be created: {answer['error']}"
                    " (a consumer of the same name with another configuration, or a NATS"
                    " server older than 2.11: priority groups need 2.11)"
                )

    # -- pulling -----------------------------------------------------------------------------

    def start(self) -> None:
        """Pull every partition, for ever, on the connection's loop."""
        self._stopping = False
        for p in self.partitions:
            self._pullers.append(self.conn.spawn(functools.partial(self._pull_loop, p)))

    def stop(self) -> None:
        """Stop pulling and hand the partitions back at once (unpin), so the others take
        them without waiting ``pin_timeout_s``."""
        self._stopping = True
        # Each pull loop ends after its current pull (at most its expiry); one that does not
        # is cancelled, and its end awaited, so no task is left on the loop when it closes.
        _done, running = futures.wait(self._pullers, timeout=self.pin_timeout_s / 2 + 3)
        for f in running:
            f.cancel()
        futures.wait(running, timeout=5)
        self._pullers.clear()
        held = dict(self._pins)
        self._pins.clear()
        if held:
            with contextlib.suppress(Exception):
                self.conn.call(lambda: self._unpin(held), timeout_s=10)

    async def _unpin(self, held: dict[int, str]) -> None:
        stream = self.conn.layout.stream
        for p in held:
            subject = f"$JS.API.CONSUMER.UNPIN.{stream}.{self.consumer_name(p)}"
            with contextlib.suppress(Exception):
                await self.conn.client.request(subject, json.dumps({"group": GROUP}).encode(), 2)

    async def _pull_loop(self, p: int) -> None:
        nc = self.conn.client
        stream = self.conn.layout.stream
        subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{self.consumer_name(p)}"
        expires_s = max(0.5, min(2.0, self.pin_timeout_s / 4))
        while not self._stopping:
            if self._queue.qsize() >= self.queue_max:
                await asyncio.sleep(0.05)  # the worker is behind (or stuck): stop claiming
                continue
            request: dict[str, Any] = {
                "batch": self.pull_batch,
                "expires": int(expires_s * NS),
                "group": GROUP,
            }
            pin = self._pins.get(p)
            if pin is not None:
                request["id"] = pin
            sub = None
            try:
                # Subscribing fails too while the client reconnects: inside the try, or the
                # partition's loop ended there and it was never pulled again.
                inbox = nc.new_inbox()
                sub = await nc.subscribe(inbox)
                await nc.publish(subject, json.dumps(request).encode(), reply=inbox)
                await self._receive(p, sub, expires_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnecting, leader moving: pull again
                log.debug("pull of partition %d failed: %s", p, exc)
                await asyncio.sleep(0.5)
            finally:
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()

    async def _receive(self, p: int, sub: Any, expires_s: float) -> None:
        received = 0
        while received < self.pull_batch:
            try:
                msg: Msg = await sub.next_msg(timeout=expires_s + 2)
            except TimeoutError:
                return
            status = msg.headers.get("Status") if msg.headers else None
            if status == "423":  # another client holds the pin now
                if self._pins.pop(p, None) is not None:
                    self._queue.put(("lost", p, None))
                return
            if status is not None:  # 408 expired, 409 leadership change..., 100 heartbeat
                if status == "100":
                    continue
                return
            pin = msg.headers.get(PIN_HEADER) if msg.headers else None
            if pin is not None and self._pins.get(p) != pin:
                if p in self._pins:
                    self._queue.put(("lost", p, None))
                self._pins[p] = pin
                self._queue.put(("gained", p, None))
            self._queue.put(("message", p, stream_message(msg)))
            received += 1

    def take(self, *, max_messages: int, timeout_s: float) -> Pulled:
        """What arrived since the last take (waits up to ``timeout_s`` for something)."""
        pulled = Pulled()
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return pulled
        while True:
            kind, p, message = item
            if kind == "gained":
                # A partition lost and gained again in one take (the server re-pinned it to
                # this client under a new id, as a new consumer leader does) stays in ``lost``
                # too: its messages taken before were dropped here, so the worker must forget
                # it and catch up on it from the stream, not go on past what it dropped.
                pulled.gained.add(p)
            elif kind == "lost":
                pulled.lost.add(p)
                pulled.gained.discard(p)
                pulled.messages = [m for m in pulled.messages if m.partition != p]
            elif message is not None:
                pulled.messages.append(message)
            if len(pulled.messages) >= max_messages:
                return pulled
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return pulled

    @property
    def owned(self) -> set[int]:
        return set(self._pins)

    # -- acknowledgements --------------------------------------------------------------------

    def ack(self, messages: Sequence[StreamMessage]) -> None:
        """Acknowledge, without waiting for the loop to send them: the caller has committed
        what they carried, and an acknowledgement lost on the way only brings a redelivery,
        recognised as applied. The loop sends them in order, before anything asked later."""
        done = self.conn.spawn(lambda: _each(messages, "ack"))
        done.add_done_callback(_log_failed_ack)

    def in_progress(self, messages: Sequence[StreamMessage]) -> None:
        self.conn.call(lambda: _each(messages, "in_progress"), timeout_s=30)

    # -- what the operator watches -----------------------------------------------------------

    def states(self) -> list[PartitionState]:
        """Each partition's lag and whether a client holds it."""
        return self.conn.call(self._states, timeout_s=30)

    def states_started(self) -> futures.Future[list[PartitionState]]:
        """:meth:`states` without waiting: a worker's loop must not stop taking messages for
        a partition count's round trips (it did, every ``watch_interval_s``: 16 requests one
        after the other through a busy event loop, tens of milliseconds on a loaded machine,
        while every reading pulled meanwhile waited)."""
        return self.conn.spawn(self._states)  # type: ignore[return-value]

    async def _states(self) -> list[PartitionState]:
        stream = self.conn.layout.stream

        async def state(p: int) -> PartitionState:
            reply = await self.conn.client.request(
                f"$JS.API.CONSUMER.INFO.{stream}.{self.consumer_name(p)}", b"", timeout=5
            )
            info = json.loads(reply.data)
            if "error" in info:
                return PartitionState(p, 0, False)
            groups = info.get("priority_groups") or []
            pinned = any(g.get("pinned_client_id") for g in groups)
            lag = int(info.get("num_pending", 0)) + int(info.get("num_ack_pending", 0))
            return PartitionState(p, lag, pinned)

        return list(await asyncio.gather(*(state(p) for p in self.partitions)))

    # -- catching up from the stream itself --------------------------------------------------

    def replay(
        self, partitions: Sequence[int], *, since: datetime | None, batch: int = 500
    ) -> Iterator[list[StreamMessage]]:
        """The partitions' messages from ``since`` (stream time; None: the stream's start) to
        the stream's end as it is now, through a consumer of this worker's own (ephemeral,
        unacknowledged): in stream order.

        It ends once it has passed the stream's last sequence at its start: messages published
        meanwhile come through the partitions' own consumers (those it already yielded are
        recognised there as handled). Chasing the stream's end instead never ended while
        readings kept arriving, and held the worker's other partitions meanwhile (a catch-up
        under a trickle of 5 readings a second took 41 s)."""
        name = f"{self.prefix}-replay-{uuid.uuid4().hex[:12]}"
        stream = self.conn.layout.stream

        async def open_() -> Any:
            config = ConsumerConfig(
                name=name,
                ack_policy=AckPolicy.NONE,
                filter_subjects=[self.conn.layout.partition_filter(p) for p in partitions],
                deliver_policy=DeliverPolicy.ALL if since is None else DeliverPolicy.BY_START_TIME,
                opt_start_time=since,
                inactive_threshold=60,
                mem_storage=True,
            )
            await self.conn.js.add_consumer(stream, config)
            return await self.conn.js.pull_subscribe_bind(consumer=name, stream=stream)

        async def pending() -> int:
            info = await self.conn.js.consumer_info(stream, name)
            return int(info.num_pending or 0)

        async def fetch(sub: Any) -> list[StreamMessage]:
            try:
                msgs: list[Msg] = await sub.fetch(batch, timeout=1.0)
            except TimeoutError:
                return []
            return [stream_message(m) for m in msgs]

        async def last_seq() -> int:
            info = await self.conn.js.stream_info(stream)
            return int(info.state.last_seq)

        end = self.conn.call(last_seq, timeout_s=30)
        sub = self.conn.call(open_, timeout_s=30)
        try:
            while True:
                messages = self.conn.call(lambda: fetch(sub), timeout_s=15)
                if messages:
                    yield messages
                    if messages[-1].seq >= end:
                        return
                elif self.conn.call(pending, timeout_s=10) == 0:
                    return
        finally:
            with contextlib.suppress(Exception):
                self.conn.call(lambda: self.conn.js.delete_consumer(stream, name), timeout_s=10)


def _log_failed_ack(done: futures.Future[object]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning(
            "acknowledging stream messages failed (they come back, recognised): %s",
            done.exception(),
        )


async def _each(messages: Sequence[StreamMessage], what: str) -> None:
    for m in messages:
        await getattr(m.msg, what)()
