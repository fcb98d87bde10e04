"""`vigil bench flood`: one device floods, another measures how late its readings are stored.

On embedded servers (or the ones given), with Vigil's ingest in this process (direct
subscription, the default) and each device in a process of its own, as devices are on other
machines:

1. **alone**: the quiet device publishes one heart-rate reading every ``every_s`` (100 ms) for
   ``alone_s`` seconds, nothing else publishing: its delay from publish to commit, the same
   run's baseline;
2. **flood**: a second device publishes ``flood`` one-reading QoS 1 messages as fast as the
   broker takes them while the quiet device goes on; the quiet readings' delay again, and its
   part up to ingest's receipt (arrival: the broker and the sockets).

``load`` starts that many processes that only spin, for both phases, so a loaded machine is a
setting of the run rather than whatever else happened to run beside it (2 cores and ``load``
4 is three runnable processes a core before counting broker, ingest and devices).

Printed: the flood's attempted / PUBACKed / stored / rejected (rate limited, with a reason) /
lost / doubled, the quiet device's sent / stored, its delay percentiles in both phases and the
flood's p99 over the alone p99 (``flood_vs_alone_p99``), its five worst delays under the flood
(with their arrival part and when in the flood), the load average. A figure, not a
test: nothing is asserted on timing.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from psycopg import sql

from vigil.bench.load import connect_device
from vigil.core.models import StoredMessage
from vigil.ingest.limits import KEPT_MESSAGES_SQL
from vigil.ingest.runner import Ingest
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate

COUNTS = sql.SQL(
    "SELECT (SELECT count(*) FROM readings WHERE device_id = %(f)s),"
    " (SELECT {kept} FROM rejected_messages WHERE device_id = %(f)s),"
    " (SELECT count(*) - count(DISTINCT (metric, time)) FROM readings WHERE device_id = %(f)s),"
    " (SELECT count(*) FROM readings WHERE device_id = %(q)s)"
).format(kept=sql.SQL(KEPT_MESSAGES_SQL))
"""The flood's stored, rejected (messages) and doubled readings; the quiet device's stored."""


OUTSTANDING = 50_000
"""Messages the flooding device has queued and not yet had PUBACKed, at most."""


def _body(ts: datetime, value: int) -> bytes:
    reading = {"ts": ts.isoformat(), "metric": "heart_rate", "value": value, "unit": "/min"}
    return json.dumps({"readings": [reading]}).encode()


def _flood(port: int, device_id: str, password: str, n: int, start: str, out: Connection) -> None:
    """Child process: ``n`` messages as fast as the broker takes them; sends how many were
    PUBACKed. MQTT numbers a client's unacknowledged messages with 16 bits, so past
    :data:`OUTSTANDING` queued the flooder waits for the oldest (paho refuses more)."""
    pub = connect_device("127.0.0.1", port, device_id, password, inflight=1000)
    t0 = datetime.fromisoformat(start)
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    published = 0
    for i in range(n):
        if len(pending) >= OUTSTANDING:
            oldest = pending.popleft()
            oldest.wait_for_publish(300)
            published += oldest.is_published()
        pending.append(pub.publish(_body(t0 + timedelta(milliseconds=i), 60 + i % 50)))
    for info in pending:
        info.wait_for_publish(300)
        published += info.is_published()
    out.send(published - len(pub.refused))
    pub.close()


def _quiet(port: int, device_id: str, password: str, start: str, pipe: Connection) -> None:
    """Child process: for each phase the parent sends (``every_s``), one reading every
    ``every_s`` until the parent says stop; sends back (reading time, publish wall time) per
    reading. ``None`` ends the process."""
    pub = connect_device("127.0.0.1", port, device_id, password, inflight=100)
    pipe.send("ready")
    t0, k = datetime.fromisoformat(start), 0
    while (every_s := pipe.recv()) is not None:
        sent: list[tuple[str, float]] = []
        while not pipe.poll():
            ts = t0 + timedelta(seconds=k)
            sent.append((ts.isoformat(), time.time()))
            pub.publish(_body(ts, 70))
            k += 1
            time.sleep(every_s)
        pipe.recv()  # the stop
        pipe.send(sent)
    pub.close()


def _spin() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {
        "n": len(values),
        "p50_ms": round(q[49] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
    }


def run_bench(
    settings: Settings,
    *,
    flood: int = 50_000,
    load: int = 0,
    alone_s: float = 5.0,
    every_s: float = 0.1,
    servers: Servers | None = None,
) -> dict[str, Any]:
    """Both phases on ``servers`` (embedded ones in a temporary folder if not given)."""
    # Measured on the Mosquitto path (MQTT 5 devices, its shared queue), as before the NATS
    # edge became the embedded default; `vigil bench ingest` compares the two edges.
    settings = settings.model_copy(update={"mqtt_edge": settings.mqtt_edge or "mosquitto"})
    tmp: Path | None = None
    own = servers is None
    if servers is None:
        tmp = Path(tempfile.mkdtemp(prefix="vigil-flood-"))
        tmp.chmod(0o755)
        settings = settings.model_copy(update={"state_dir": tmp})
        servers = start_servers(settings)
    ctx = mp.get_context("spawn")
    spinners: list[BaseProcess] = []
    ingest: Ingest | None = None
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
            tenant = admin.create_tenant(conn, name=f"flood-{time.time_ns()}")
            fleet = [
                admin.enrol_with_device(conn, tenant_id=tenant, display_name=n, kind="wearable")[1]
                for n in ("flooder", "quiet")
            ]
            conn.commit()
            assert servers.broker_root is not None
            sync_broker_credentials(conn, servers.broker_root)
        flooder, quiet = fleet
        committed: dict[str, float] = {}
        received: dict[str, float] = {}
        lock = threading.Lock()

        def sink(messages: Sequence[StoredMessage]) -> None:
            now = time.time()
            with lock:
                for m in messages:
                    if m.device_id == quiet.device_id:
                        for r in m.readings:
                            committed[r.time.isoformat()] = now
                            received[r.time.isoformat()] = r.received_at.timestamp()

        ingest = Ingest(settings, database_url=servers.database_url, mqtt=servers.mqtt, sink=sink)
        ingest.start()
        ingest.transport.subscribed.wait(30)
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        parent, child = ctx.Pipe()
        calm = ctx.Process(
            target=_quiet,
            args=(
                servers.device_port,
                quiet.device_id,
                quiet.password,
                (base + timedelta(days=1)).isoformat(),
                child,
            ),
        )
        calm.start()
        if not parent.poll(60):
            raise RuntimeError("the quiet device did not connect")
        parent.recv()
        for _ in range(load):
            spinner = ctx.Process(target=_spin, daemon=True)
            spinner.start()
            spinners.append(spinner)

        def phase(work: Any) -> list[tuple[str, float]]:
            parent.send(every_s)
            work()
            parent.send("stop")
            sent: list[tuple[str, float]] = parent.recv()
            return sent

        alone = phase(lambda: time.sleep(alone_s))
        flood_out, flood_in = ctx.Pipe(duplex=False)
        flooding = ctx.Process(
            target=_flood,
            args=(
                servers.device_port,
                flooder.device_id,
                flooder.password,
                flood,
                base.isoformat(),
                flood_in,
            ),
        )
        t_flood = time.monotonic()

        def run_flood() -> None:
            flooding.start()
            flooding.join()

        during = phase(run_flood)
        flood_s = time.monotonic() - t_flood
        pubacked = int(flood_out.recv()) if flood_out.poll(10) else 0
        parent.send(None)
        calm.join(30)
        load_average = [round(x, 2) for x in os.getloadavg()]
        for running in spinners:
            running.terminate()
        deadline = time.monotonic() + 300
        wanted = {ts for ts, _ in alone + during}
        while time.monotonic() < deadline:
            with lock:
                if wanted <= committed.keys():
                    break
            time.sleep(0.1)
        with psycopg.connect(servers.database_url) as conn:
            # Every PUBACKed message ends as a stored reading or a rejected row with a reason;
            # wait until they add up (or the deadline), then count.
            while True:
                row = conn.execute(
                    COUNTS, {"f": flooder.device_id, "q": quiet.device_id}
                ).fetchone()
                assert row is not None
                stored, rejected, doubled, quiet_stored = map(int, row)
                if stored + rejected >= pubacked or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        sent_at = dict(alone + during)
        with lock:
            delay_alone = sorted(committed[k] - sent_at[k] for k, _ in alone if k in committed)
            delay_flood = sorted(committed[k] - sent_at[k] for k, _ in during if k in committed)
            arrival = sorted(received[k] - sent_at[k] for k, _ in during if k in received)
        alone_fig, flood_fig = _percentiles(delay_alone), _percentiles(delay_flood)
        t0 = during[0][1] if during else 0.0
        worst = sorted(
            (
                {
                    "delay_ms": round((committed[k] - t) * 1000, 1),
                    "arrival_ms": round((received[k] - t) * 1000, 1),
                    "into_flood_s": round(t - t0, 1),
                }
                for k, t in during
                if k in committed and k in received
            ),
            key=lambda w: -w["delay_ms"],
        )[:5]
        return {
            "cores": os.cpu_count(),
            "load_processes": load,
            "load_average": load_average,
            "flood_attempted": flood,
            "flood_pubacked": pubacked,
            "flood_stored": stored,
            "flood_rejected": rejected,
            "flood_lost": pubacked - stored - rejected,
            "flood_doubled": doubled,
            "flood_s": round(flood_s, 1),
            "rate_per_s": settings.ingest_device_rate_per_s,
            "burst": settings.ingest_device_burst,
            "quiet_sent": len(alone) + len(during),
            "quiet_stored": quiet_stored,
            "alone": alone_fig,
            "flood": flood_fig,
            "arrival": _percentiles(arrival),
            "flood_worst": worst,
            "flood_vs_alone_p99": (
                round(flood_fig["p99_ms"] / alone_fig["p99_ms"], 2)
                if alone_fig.get("p99_ms") and flood_fig.get("p99_ms")
                else None
            ),
        }
    finally:
        for running in spinners:
            running.terminate()
        if ingest is not None:
            ingest.stop()
        if own:
            servers.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
