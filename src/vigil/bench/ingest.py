"""`vigil bench ingest`: the full ingest path against a bare ceiling, through the real broker.

Both phases publish the same number of one-reading messages at QoS 1 from simulated devices in a
separate process. The ceiling is a bare paho subscriber (auto-ack) that COPYs rows into the same
``readings`` table without validation, unit conversion, assignment lookup or idempotency. The
full path is Vigil's ingest. Latency is publish to commit, per message (one clock: same machine).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import queue
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from vigil.core.metrics import METRIC_CODES, Metric
from vigil.ingest.publisher import DevicePublisher
from vigil.ingest.runner import Ingest
from vigil.ingest.transport import READINGS_FILTER
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate, reading_keys

_TYPES = ["timestamptz", "timestamptz", "int4", "int4", "float4", "int2"]


@dataclass(frozen=True)
class BenchDevice:
    device_id: str
    password: str
    patient_id: UUID


def _publish_process(
    host: str,
    port: int,
    devices: list[tuple[str, str]],
    start_iso: str,
    n: int,
    out: Any,
    v311: bool = False,
) -> None:
    """Child process: publish ``n`` spo2 readings round-robin; report publish wall times."""
    start = datetime.fromisoformat(start_iso)
    protocol = MQTTProtocolVersion.MQTTv311 if v311 else MQTTProtocolVersion.MQTTv5
    pubs = [DevicePublisher(host, port, d, p, inflight=200, protocol=protocol) for d, p in devices]
    for pub in pubs:
        pub.connect()
    sent: list[tuple[str, str, float]] = []
    infos = []
    for i in range(n):
        pub = pubs[i % len(pubs)]
        ts = (start + timedelta(seconds=i // len(pubs))).isoformat()
        body = json.dumps({"readings": [{"ts": ts, "metric": "spo2", "value": 96, "unit": "%"}]})
        sent.append((pub.device_id, ts, time.time()))
        infos.append(pub.publish(body.encode()))
    for info in infos:
        info.wait_for_publish(120)
    for pub in pubs:
        pub.close()
    out.send(sent)


def publish(servers: Servers, devices: list[BenchDevice], start: datetime, n: int) -> Any:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_publish_process,
        args=(
            servers.mqtt.host,
            servers.device_port,
            [(d.device_id, d.password) for d in devices],
            start.isoformat(),
            n,
            child,
            servers.edge == "nats",  # the NATS edge speaks MQTT 3.1.1
        ),
    )
    proc.start()
    return proc, parent


def _key(device_id: str, ts: datetime | str) -> tuple[str, str]:
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return device_id, ts.astimezone(UTC).isoformat()


def _figures(
    sent: list[tuple[str, str, float]], committed: dict[tuple[str, str], float]
) -> dict[str, float]:
    lat = sorted(
        (committed[_key(d, ts)] - t) * 1000 for d, ts, t in sent if _key(d, ts) in committed
    )
    first = min(t for _, _, t in sent)
    last = max(committed.values()) if committed else first
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
    return {
        "readings_per_s": round(len(lat) / max(last - first, 1e-9), 1),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
    }


def _wait(count: Any, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while count() < n and time.monotonic() < deadline:
        time.sleep(0.05)


def _ceiling(
    servers: Servers, devices: list[BenchDevice], start: datetime, n: int
) -> dict[str, float]:
    patient_of = {d.device_id: d.patient_id for d in devices}
    committed: dict[tuple[str, str], float] = {}
    inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
    target = servers.mqtt
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=target.username,
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(target.username, target.password)
    client.max_inflight_messages_set(1000)
    subscribed = threading.Event()
    mount = target.mount_point
    client.on_connect = lambda c, *_: c.subscribe(f"{mount}{READINGS_FILTER}", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda c, u, m: inbox.put((m.topic[len(mount) :], bytes(m.payload)))
    client.connect(target.host, target.port)
    client.loop_start()
    subscribed.wait(10)
    stop = threading.Event()

    def writer() -> None:
        with psycopg.connect(servers.database_url) as conn:
            # Straight into the hypertable, by its keys (the readings view's trigger is for
            # loaders and tests: it would make this baseline slower than a bare COPY).
            patient_key, device_key = reading_keys(
                conn, patient_ids=patient_of.values(), device_ids=patient_of
            )
            conn.commit()
            while not stop.is_set() or not inbox.empty():
                try:
                    batch = [inbox.get(timeout=0.1)]
                except queue.Empty:
                    continue
                while len(batch) < 500:
                    try:
                        batch.append(inbox.get_nowait())
                    except queue.Empty:
                        break
                rows = []
                for topic, payload in batch:
                    device = topic.split("/")[3]
                    r = json.loads(payload)["readings"][0]
                    rows.append((r["ts"], patient_of[device], r["metric"], r["value"], device))
                with (
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(
                        "COPY reading_rows (time, received_at, patient, device, value, metric)"
                        " FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(_TYPES)
                    now = datetime.now(UTC)
                    for ts, pid, metric, value, device in rows:
                        key = (patient_key[pid], device_key[device])
                        code = METRIC_CODES[Metric(metric)]
                        copy.write_row((datetime.fromisoformat(ts), now, *key, value, code))
                t = time.time()
                for ts, _, _, _, device in rows:
                    committed[_key(device, ts)] = t

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    proc, pipe = publish(servers, devices, start, n)
    sent = pipe.recv()
    proc.join()
    _wait(lambda: len(committed), n, 120)
    stop.set()
    thread.join()
    client.disconnect()
    client.loop_stop()
    return _figures(sent, committed)


def full_path(
    settings: Settings, servers: Servers, devices: list[BenchDevice], start: datetime, n: int
) -> dict[str, float]:
    committed: dict[tuple[str, str], float] = {}

    def sink(messages: Any) -> None:
        t = time.time()
        for m in messages:
            for r in m.readings:
                committed[_key(r.device_id, r.time)] = t

    ingest = Ingest(
        settings.model_copy(update={"mqtt_shared_group": "vigil-bench"}),
        database_url=servers.database_url,
        mqtt=servers.mqtt,
        sink=sink,
        nats_url=servers.nats_url,
    )
    ingest.start()
    ingest.transport.subscribed.wait(10)
    proc, pipe = publish(servers, devices, start, n)
    sent = pipe.recv()
    proc.join()
    _wait(lambda: len(committed), n, 120)
    ingest.stop()
    return _figures(sent, committed)


def provision(servers: Servers, count: int) -> list[BenchDevice]:
    out = []
    with psycopg.connect(servers.database_url) as conn:
        migrate(conn)
        tenant = admin.create_tenant(conn, name=f"bench-{time.time_ns()}")
        for i in range(count):
            patient, creds = admin.enrol_with_device(
                conn,
                tenant_id=tenant,
                display_name=f"Bench {i}",
                kind="oximeter",
                conditions=["copd"],
            )
            out.append(BenchDevice(creds.device_id, creds.password, patient))
        conn.commit()
        if servers.broker_root is not None:
            sync_broker_credentials(conn, servers.broker_root)
            time.sleep(0.3)
    return out


def counts(servers: Servers, devices: list[BenchDevice], since: datetime) -> tuple[int, int]:
    with psycopg.connect(servers.database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (device_id, metric, time)) FROM readings"
            " WHERE device_id = ANY(%s) AND time >= %s",
            ([d.device_id for d in devices], since),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def run_bench(settings: Settings, *, readings: int, devices: int) -> dict[str, Any]:
    tmp = None
    if settings.database_url is None or settings.mqtt_url is None:
        tmp = tempfile.mkdtemp(prefix="vigil-bench-")
        Path(tmp).chmod(0o755)
        settings = settings.model_copy(update={"state_dir": Path(tmp)})
    servers = start_servers(settings)
    try:
        fleet = provision(servers, devices)
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        ceiling_start = base
        full_start = base + timedelta(hours=12)
        # Warm-up (not counted): connections, broker and database caches, the spawn path.
        _ceiling(servers, fleet, base - timedelta(hours=12), min(readings, 2000))
        ceiling = _ceiling(servers, fleet, ceiling_start, readings)
        full = full_path(settings, servers, fleet, full_start, readings)
        rows, distinct = counts(servers, fleet, full_start)
        from vigil.bench.edge import run_edge  # it reuses this module's phases

        edge = run_edge(settings, servers.database_url, readings=readings, devices=devices)
        return {
            "readings": readings,
            "devices": devices,
            **full,
            "lost": readings - distinct,
            "duplicated": rows - distinct,
            "ceiling_readings_per_s": ceiling["readings_per_s"],
            "ceiling_p50_ms": ceiling["p50_ms"],
            "ceiling_p99_ms": ceiling["p99_ms"],
            "share_of_ceiling": round(full["readings_per_s"] / ceiling["readings_per_s"], 3),
            **edge,
            "edge_vs_mosquitto": round(edge["edge_readings_per_s"] / full["readings_per_s"], 3),
        }
    finally:
        servers.close()
        if tmp is not None:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
