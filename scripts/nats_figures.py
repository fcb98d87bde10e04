"""Figures of the embedded NATS server, for docs/nats.md: start time, JetStream publish rate
and latency (one client, acked publishes), and a 3-node cluster's recovery from kill -9 of the
stream leader. Throw-away servers in a temporary folder; loopback only.

    .venv/bin/python scripts/nats_figures.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
import nats.errors

from vigil.servers import EmbeddedNats, NatsCluster


async def publish_rate(url: str, messages: int, window: int) -> dict[str, float]:
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=30)
    stream = f"B{window}"
    await js.add_stream(name=stream, subjects=[f"{stream}.*"])
    latencies: list[float] = []

    async def one(i: int) -> None:
        t0 = time.monotonic()
        await js.publish(f"{stream}.{i % 64}", b"x" * 300, headers={"Nats-Msg-Id": str(i)})
        latencies.append(time.monotonic() - t0)

    start = time.monotonic()
    for first in range(0, messages, window):
        await asyncio.gather(*(one(i) for i in range(first, min(messages, first + window))))
    elapsed = time.monotonic() - start
    await nc.close()
    latencies.sort()
    return {
        "msgs_per_s": round(messages / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
    }


def single(root: Path, messages: int, sync_interval: str | None) -> dict[str, Any]:
    server = EmbeddedNats(root, sync_interval=sync_interval)
    t0 = time.monotonic()
    server.start()
    result: dict[str, Any] = {"start_ms": round((time.monotonic() - t0) * 1000)}
    try:
        for window in (1, 100):
            result[f"window_{window}"] = asyncio.run(publish_rate(server.url, messages, window))
    finally:
        server.stop()
    return result


async def failover(cluster: NatsCluster, messages: int) -> dict[str, Any]:
    nc = await nats.connect(cluster.urls, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
    js = nc.jetstream(timeout=10)
    await js.add_stream(name="R", subjects=["r.>"], num_replicas=3)
    for i in range(messages):
        await js.publish("r.x", b"m", headers={"Nats-Msg-Id": str(i)})
    info = await js.stream_info("R")
    assert info.cluster is not None
    assert info.cluster.leader
    index = cluster.nodes.index(cluster.node(info.cluster.leader))
    t0 = time.monotonic()
    cluster.kill(index)
    attempts = 0
    while True:
        attempts += 1
        try:
            await js.publish("r.x", b"m", timeout=1, headers={"Nats-Msg-Id": "after"})
            break
        except nats.errors.Error:
            await asyncio.sleep(0.05)
    acked_after_s = time.monotonic() - t0
    stored = (await js.stream_info("R")).state.messages
    await nc.close()
    t0 = time.monotonic()
    cluster.restart(index)
    return {
        "killed": info.cluster.leader,
        "next_publish_acked_s": round(acked_after_s, 2),
        "publish_attempts": attempts,
        "stored": stored,
        "expected": messages + 1,
        "restart_until_healthy_s": round(time.monotonic() - t0, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vigil-nats-") as tmp:
        root = Path(tmp)
        out["single_default_sync"] = single(root / "a", args.messages, None)
        out["single_sync_always"] = single(root / "b", args.messages, "always")
        cluster = NatsCluster(root / "cluster", size=3)
        t0 = time.monotonic()
        cluster.start()
        out["cluster_start_s"] = round(time.monotonic() - t0, 2)
        try:
            out["cluster_failover"] = asyncio.run(failover(cluster, 1000))
        finally:
            cluster.stop()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
