"""A small SSE reader for tests: collects events from a live stream in a thread."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import httpx


class SseReader:
    def __init__(self, url: str, headers: dict[str, str], *, read_timeout: float = 10.0) -> None:
        self.url = url
        self.headers = headers
        self.read_timeout = read_timeout
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self.status: int | None = None
        self.ended_by_server = False
        """The server closed the stream (not a read timeout, not our stop)."""
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SseReader:
        self.thread.start()
        assert self.connected.wait(30), "the SSE stream did not connect"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join(20)

    def _run(self) -> None:
        timeout = httpx.Timeout(5.0, read=self.read_timeout)
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", self.url, headers=self.headers) as response,
        ):
            self.status = response.status_code
            event: dict[str, str] = {}
            try:
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.connected.set()
                    elif line == "":
                        if "data" in event:
                            data = json.loads(event["data"])
                            self.events.put({"event": event.get("event"), "data": data})
                        event = {}
                    elif ":" in line:
                        key, _, value = line.partition(":")
                        event[key] = value.lstrip(" ")
                    if self._stop.is_set():
                        return
                self.ended_by_server = True
            except httpx.ReadTimeout:
                return
            finally:
                self.connected.set()

    def next(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.events.get(timeout=timeout)
