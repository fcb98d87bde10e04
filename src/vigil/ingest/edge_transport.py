"""Ingest's transport on the NATS edge: pull the devices' captured messages from JetStream.

Devices publish over MQTT to the NATS server's listener, which stores each QoS 1 message in
``$MQTT_msgs`` before its PUBACK (:mod:`vigil.servers.edge`). Every ingest instance pulls from
the same durable consumer, so N instances share the load as one queue and a message any of
them took and did not acknowledge (it died, the database is down) is offered again after the
consumer's ack wait. A message is acknowledged only after its readings are committed (the
service calls :meth:`EdgeTransport.ack`), so nothing PUBACKed is lost across a restart of the
server or of ingest, in any order.

The interface is :class:`~vigil.ingest.transport.MqttTransport`'s (``start``, ``stop``,
``ack``, the ``connected`` and ``subscribed`` events), so the service does not know which edge
it reads.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import Header

from vigil.ingest.inbox import FairInbox
from vigil.ingest.models import InboundMessage
from vigil.servers.edge import EDGE_STREAM, INGEST_CONSUMER, ensure_capture_async, topic_of
from vigil.servers.nats import split_servers

log = logging.getLogger(__name__)

RETRY_S = 0.5


class EdgeTransport:
    """Pulls batches from the edge's capture consumer on a private event loop thread and puts
    every message in ``inbox`` (waiting while it is full: the stream holds the rest)."""

    def __init__(self, nats_url: str, *, inbox: FairInbox, fetch_batch: int = 500) -> None:
        self.servers = split_servers(nats_url)
        self.inbox = inbox
        self.fetch_batch = fetch_batch
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        """Set once bound to the capture consumer (the MQTT transport's: subscribed)."""
        self.callback_errors = 0
        self.subscriptions = 0
        self.shared_group: str | None = None
        self.redelivered = 0
        self._pending: dict[int, Msg] = {}
        self._mids = itertools.count(1)
        self._stopping = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._run, name="vigil-edge-pull", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(15)

    def ack(self, message: InboundMessage) -> bool:
        """Acknowledge ``message`` to the stream (sent from the transport's loop, not awaited:
        a lost ack means one redelivery, which the idempotent insert absorbs)."""
        msg = self._pending.pop(message.mid, None)
        if msg is None or self._loop.is_closed():
            return False
        self._loop.call_soon_threadsafe(self._send_ack, msg)
        return True

    def ack_many(self, messages: Sequence[InboundMessage]) -> int:
        """:meth:`ack` for a whole batch, in one hop to the transport's loop (a hop a message
        was a tenth of ingest's profile); returns how many were this connection's to ack."""
        msgs = [m for message in messages if (m := self._pending.pop(message.mid, None))]
        if not msgs or self._loop.is_closed():
            return 0
        self._loop.call_soon_threadsafe(self._send_acks, msgs)
        return len(msgs)

    def _send_ack(self, msg: Msg) -> None:
        self._send_acks([msg])

    def _send_acks(self, msgs: list[Msg]) -> None:
        async def ack_all() -> None:
            for msg in msgs:
                await msg.ack()

        task = self._loop.create_task(ack_all())
        self._tasks.add(task)
        task.add_done_callback(self._acked)

    def _acked(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("edge ack not sent (the message will be redelivered): %s", task.exception())

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except Exception:
            self.callback_errors += 1
            log.exception("edge transport stopped on an error")
        finally:
            self._loop.close()

    async def _connect(self) -> Client:
        first = urlsplit(self.servers[0])

        async def on_disconnect() -> None:
            self.connected.clear()
            if not self._stopping.is_set():
                log.warning("edge: disconnected from NATS; reconnecting")

        async def on_reconnect() -> None:
            self.connected.set()
            log.info("edge: reconnected to NATS")

        async def on_error(exc: Exception) -> None:
            log.warning("edge: NATS: %s", exc)

        while True:
            try:
                nc = await nats.connect(
                    self.servers,
                    user=first.username,
                    password=first.password,
                    name="vigil-ingest-edge",
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    disconnected_cb=on_disconnect,
                    reconnected_cb=on_reconnect,
                    error_cb=on_error,
                )
                self.connected.set()
                return nc
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                log.warning("edge: NATS not reachable yet (%s); retrying", exc)
                await asyncio.sleep(RETRY_S)

    async def _main(self) -> None:
        nc = await self._connect()
        pull = _Pull(nc, f"$JS.API.CONSUMER.MSG.NEXT.{EDGE_STREAM}.{INGEST_CONSUMER}")
        await pull.start()
        bound = False
        try:
            while not self._stopping.is_set():
                try:
                    if not bound:
                        await ensure_capture_async(self.servers)
                        bound = True
                        self.subscriptions += 1
                        self.subscribed.set()
                        log.info("edge: pulling from %s/%s", EDGE_STREAM, INGEST_CONSUMER)
                    msgs = await pull.next(self.fetch_batch, wait_s=1.0)
                except Exception as exc:
                    if not self._stopping.is_set():
                        log.warning("edge: pull failed (%s); retrying", exc)
                    await asyncio.sleep(RETRY_S)
                    continue
                if msgs:
                    await self._hand_over(msgs)
        finally:
            self.subscribed.clear()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=5)
            await nc.close()

    async def _hand_over(self, msgs: list[Msg]) -> None:
        """Queue a fetched batch for the service, in one hop to a thread (the inbox may make
        it wait while it is full)."""
        messages = []
        for msg in msgs:
            try:
                mid = next(self._mids)
                if _delivered(msg) > 1:
                    self.redelivered += 1
                self._pending[mid] = msg
                messages.append(
                    InboundMessage(
                        topic=topic_of(msg.subject),
                        payload=bytes(msg.data),
                        mid=mid,
                        qos=1,
                        retain=False,
                        received_at=datetime.now(UTC),
                        generation=0,
                    )
                )
            except Exception:
                self.callback_errors += 1
                log.exception("edge: could not queue %s", msg.subject)
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._put_all, messages)
        except Exception:
            self.callback_errors += 1
            log.exception("edge: could not queue %d messages", len(messages))

    def _put_all(self, messages: list[InboundMessage]) -> None:
        for message in messages:
            self.inbox.put(message)


class _Pull:
    """Pull requests on the capture consumer, answered into one inbox whose callback gathers
    the messages. JetStream's own pull API (``$JS.API.CONSUMER.MSG.NEXT``), as nats-py's
    ``fetch`` sends it; but ``fetch`` then waits for each message with a task and a timer of
    its own, a third of the edge thread's time under load.

    A request asks for up to ``batch`` messages; it ends with its last message, or a status
    (404 none, 408 expired, 409 and the like). A message that arrives after its call returned
    (the rest of a request) is taken with the next call."""

    def __init__(self, nc: Client, subject: str) -> None:
        self.nc = nc
        self.subject = subject
        self.inbox = nc.new_inbox()
        self.arrived: list[Msg] = []
        self.wanted = 0
        self.ended = False
        self.done: asyncio.Future[None] | None = None

    async def start(self) -> None:
        await self.nc.subscribe(self.inbox, cb=self._on_msg)

    async def _on_msg(self, msg: Msg) -> None:
        status = msg.headers.get(Header.STATUS) if msg.headers and not msg.data else None
        if status is None:
            self.arrived.append(msg)
        elif status != "100":  # not a heartbeat: the request is over
            self.ended = True
        done = self.done
        if (
            done is not None
            and not done.done()
            and (self.ended or len(self.arrived) >= self.wanted)
        ):
            done.set_result(None)

    async def next(self, batch: int, *, wait_s: float) -> list[Msg]:
        """Up to about ``batch`` messages: what the consumer holds now, else the first to come
        within ``wait_s`` (with what arrives beside it), as nats-py's ``fetch`` does; and any
        that arrived since the last call (the rest of an earlier request)."""
        if not self.arrived:  # what there is now: the server answers at once
            await self._request({"batch": batch, "no_wait": True}, wanted=batch, wait_s=wait_s)
        if not self.arrived:  # nothing yet: wait for the first
            expires = int(wait_s * 1_000_000_000)
            await self._request({"batch": batch, "expires": expires}, wanted=1, wait_s=wait_s)
        msgs, self.arrived = self.arrived, []
        return msgs

    async def _request(self, request: dict[str, object], *, wanted: int, wait_s: float) -> None:
        self.wanted, self.ended = wanted, False
        self.done = asyncio.get_running_loop().create_future()
        try:
            await self.nc.publish(self.subject, json.dumps(request).encode(), reply=self.inbox)
            await asyncio.wait({self.done}, timeout=wait_s + 0.5)
        finally:
            self.done = None


def _delivered(msg: Msg) -> int:
    """How many times the stream has delivered ``msg``, read off its reply subject's tokens
    (``$JS.ACK.<stream>.<consumer>.<delivered>...``, or with domain and account hash first):
    nats-py's ``msg.metadata`` parses the whole subject into an object, a few percent of the
    edge thread's time for one number."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9:
        return int(tokens[4])
    if len(tokens) >= 12:
        return int(tokens[6])
    return msg.metadata.num_delivered or 0
