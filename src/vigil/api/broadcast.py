"""Alert changes to SSE subscribers: PostgreSQL LISTEN/NOTIFY, fanned out in-process.

Any process that commits an alert change (ingest's pipeline, another API instance) sends a
NOTIFY; every API process listens and hands each change to its local subscribers' queues.
The same connection hears which patients have new readings (ingest's NOTIFY), for the read
cache (:mod:`vigil.api.reads`), which also drops everything whenever the connection was lost
(notifications sent meanwhile are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg

from vigil.alerts import CHANNEL
from vigil.storage import READINGS_CHANNEL

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


class AlertBroadcaster:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.received = 0
        self.dropped = 0
        self.listening = asyncio.Event()
        self.on_change: Callable[[], None] | None = None
        """Called on every alert change (the API's read cache drops what may predate it)."""
        self.on_readings: Callable[[list[UUID]], None] | None = None
        """Called with the patients that have new readings."""
        self.on_listening: Callable[[], None] | None = None
        """Called when listening starts again (what was sent meanwhile was not heard)."""
        self._task: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self.subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self.subscribers.discard(queue)

    def publish(self, change: dict[str, Any]) -> None:
        self.received += 1
        if self.on_change is not None:
            self.on_change()
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                self.dropped += 1  # a stalled client loses changes, never the others

    def _readings(self, payload: str) -> None:
        if self.on_readings is None:
            return
        try:
            patients = [UUID(p) for p in payload.split(",") if p]
        except ValueError:
            log.warning("unreadable readings notification dropped")
            return
        self.on_readings(patients)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vigil-alert-broadcast")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.2
        while True:
            try:
                aconn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                async with aconn:
                    await aconn.execute(f"LISTEN {CHANNEL}")
                    await aconn.execute(f"LISTEN {READINGS_CHANNEL}")
                    if self.on_listening is not None:
                        self.on_listening()
                    self.listening.set()
                    delay = 0.2
                    async for notify in aconn.notifies():
                        if notify.channel == READINGS_CHANNEL:
                            self._readings(notify.payload)
                            continue
                        try:
                            self.publish(json.loads(notify.payload))
                        except ValueError:
                            log.warning("unreadable alert notification dropped")
            except asyncio.CancelledError:
                raise
            except Exception:
                self.listening.clear()
                log.exception("alert listener lost its connection; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
