"""A NATS connection on an event loop of its own, for Vigil's threaded stages.

Ingest and detection are threads that block on the database; nats-py is asyncio. A
:class:`NatsConnection` runs one nats-py client on a private loop thread and lets a thread run a
coroutine on it and wait for the result. The client reconnects by itself for ever; a call made
while it is away waits (bounded by the caller's timeout) and then raises.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from vigil.core.errors import VigilError
from vigil.servers.nats import split_servers
from vigil.stream.subjects import StreamLayout

log = logging.getLogger(__name__)

T = TypeVar("T")


class StreamUnavailable(VigilError):
    """The stream could not be reached or did not acknowledge in time."""


class NatsConnection:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        layout: StreamLayout | None = None,
        connect_timeout_s: float = 30.0,
    ) -> None:
        self.url = url
        self.layout = layout or StreamLayout()
        """The readings stream this connection publishes to or consumes from."""
        self.name = name
        self.connect_timeout_s = connect_timeout_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"vigil-nats-{name}", daemon=True
        )
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise StreamUnavailable("not connected to NATS")
        return self._js

    @property
    def client(self) -> Client:
        if self._nc is None:
            raise StreamUnavailable("not connected to NATS")
        return self._nc

    def open(self) -> NatsConnection:
        self._thread.start()
        self.call(self._connect, timeout_s=self.connect_timeout_s + 5)
        return self

    async def _connect(self) -> None:
        async def on_error(exc: Exception) -> None:
            log.warning("NATS (%s): %s", self.name, exc)

        async def on_disconnect() -> None:
            log.warning("NATS (%s): disconnected; reconnecting", self.name)

        async def on_reconnect() -> None:
            log.info("NATS (%s): reconnected", self.name)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_timeout_s
        delay = 0.2
        while True:
            try:
                servers = split_servers(self.url)
                first = urlsplit(servers[0])
                self._nc = await nats.connect(
                    servers,
                    # Credentials as options too: servers a cluster gossips carry none.
                    user=first.username,
                    password=first.password,
                    name=f"vigil-{self.name}",
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    error_cb=on_error,
                    disconnected_cb=on_disconnect,
                    reconnected_cb=on_reconnect,
                )
                break
            except Exception as exc:
                if loop.time() + delay > deadline:
                    raise StreamUnavailable(f"cannot connect to NATS: {exc}") from exc
                log.warning("NATS (%s) not reachable yet (%s); retrying", self.name, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._js = self._nc.jetstream()

    def call(self, factory: Callable[[], Awaitable[T]], *, timeout_s: float) -> T:
        """Run ``factory()`` on the connection's loop; wait at most ``timeout_s``."""

        async def run() -> T:
            return await factory()

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        try:
            return future.result(timeout_s)
        except FutureTimeout as exc:
            future.cancel()
            raise StreamUnavailable(f"NATS did not answer within {timeout_s:.0f} s") from exc

    def spawn(self, factory: Callable[[], Awaitable[object]]) -> Future[object]:
        """Run ``factory()`` on the connection's loop without waiting (cancel the returned
        future to stop it)."""

        async def run() -> object:
            return await factory()

        return asyncio.run_coroutine_threadsafe(run(), self._loop)

    def close(self) -> None:
        if self._nc is not None and self._thread.is_alive():
            try:
                self.call(self._nc.close, timeout_s=5)
            except Exception:
                log.debug("closing the NATS connection failed", exc_info=True)
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()
