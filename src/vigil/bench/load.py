"""The bench's devices: one separate process publishing one-reading SpO2 messages at QoS 1.

Every reading is 80-85 %, below every SpO2 threshold, so each one is a finding that updates its
patient's one ``spo2_low`` alert. Device ``j``'s ``k``-th reading (1-based, over the whole run)
is stamped ``base + k`` seconds, so each device's readings are in time order. The process keeps
its devices connected between phases; each phase publishes round-robin over the devices, as fast
as it can or paced at a given rate, and reports when it published each reading (wall clock:
the same machine's clock as the alert watch).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from vigil.ingest.publisher import DevicePublisher

Sent = list[tuple[int, int, float]]
"""(device index, the device's reading number k, publish time) per reading, in publish order."""


def reading_body(base: datetime, k: int) -> bytes:
    ts = (base + timedelta(seconds=k)).isoformat()
    reading = {"ts": ts, "metric": "spo2", "value": 80 + k % 6, "unit": "%"}
    return json.dumps({"readings": [reading]}).encode()


def connect_device(
    host: str, port: int, device: str, password: str, *, inflight: int = 200
) -> DevicePublisher:
    """Connect, retrying while the broker has not reloaded its password file yet."""
    deadline = time.monotonic() + 30
    while True:
        pub = DevicePublisher(host, port, device, password, inflight=inflight)
        try:
            pub.connect()
            return pub
        except (ConnectionError, OSError):
            pub.client.loop_stop()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _serve(
    host: str, port: int, devices: list[tuple[str, str]], base_iso: str, pipe: Connection
) -> None:
    """Child process: connect every device, then run the phases the parent sends."""
    base = datetime.fromisoformat(base_iso)
    pubs = [connect_device(host, port, d, p) for d, p in devices]
    pipe.send("ready")
    while (phase := pipe.recv()) is not None:
        first, n, rate = phase
        sent: Sent = []
        infos = []
        t0 = time.monotonic()
        for i in range(n):
            j = i % len(pubs)
            k = first[j] + i // len(pubs)
            if rate:
                delay = t0 + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = reading_body(base, k)
            sent.append((j, k, time.time()))
            infos.append(pubs[j].publish(body))
        for info in infos:
            info.wait_for_publish(120)
        refused = [r for p in pubs for r in p.refused]
        pipe.send((sent, refused))
    for pub in pubs:
        pub.close()


class BenchDevices:
    """The parent's handle on the publisher process."""

    def __init__(
        self, host: str, port: int, devices: Sequence[tuple[str, str]], *, base: datetime
    ) -> None:
        self.count = len(devices)
        self.next_k = [1] * self.count
        """Per device: the number its next reading gets."""
        ctx = mp.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._proc: Any = ctx.Process(
            target=_serve, args=(host, port, list(devices), base.isoformat(), child), daemon=True
        )

    def start(self) -> BenchDevices:
        self._proc.start()
        if not self._pipe.poll(90) or self._pipe.recv() != "ready":
            self.close()
            raise RuntimeError("the bench's devices could not connect to the broker")
        return self

    def publish(self, n: int, *, rate: float | None = None) -> Sent:
        """Publish ``n`` readings round-robin (at ``rate`` per second when given); returns
        once the broker has acknowledged them all."""
        self._pipe.send((list(self.next_k), n, rate))
        if not self._pipe.poll(600):
            raise RuntimeError(f"the publisher did not finish {n} readings")
        sent, refused = self._pipe.recv()
        if refused:
            raise RuntimeError(f"the broker refused publishes: {refused[:3]}")
        for j, _, _ in sent:
            self.next_k[j] += 1
        return sent  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError):
                self._pipe.send(None)
            self._proc.join(30)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(10)
