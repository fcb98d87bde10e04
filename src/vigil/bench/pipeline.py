"""`vigil bench pipeline`: MQTT publish -> visible alert change, stream path against the old one.

Three paths, one after the other, on the same embedded servers (under a temporary folder):

- ``inprocess``: the old path, one process (ingest -> in-memory queue -> detection), the base;
- ``stream-1``: ``vigil ingest`` -> the readings stream (NATS JetStream) -> one ``vigil detect``;
- ``stream-2``: the same with two ``vigil detect`` (JetStream splits the partitions).

Each path has its own patients and oximeters, its own broker service user and MQTT session, its
own stream. Every reading is a finding that updates its patient's one ``spo2_low`` alert; the
alert watch (LISTEN) sees each change when it is committed. Per path: one warm-up reading per
device (opens the alerts, loads care plans; not counted), then

- idle: ``idle_readings`` as a trickle (``idle_rate`` a second) on an otherwise idle system;
  per reading, publish -> alert change visible; p50 and p99;
- throughput: ``readings`` published as fast as the publisher process can; readings/s is
  ``readings`` / (first publish -> last of them visible as an alert change);
- latency: ``latency_readings`` paced at half of that path's throughput; per reading, publish
  -> alert change visible; p50 and p99, and the same split into legs from timestamps the run
  leaves anyway (ingest's ``received_at``, the stream's own time of each message, the alert
  row's ``updated_at``), read after the path has stopped (see :func:`_legs`).
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from vigil.bench.inprocess import READY as INPROCESS_READY
from vigil.bench.load import BenchDevices, Sent, connect_device
from vigil.bench.processes import BenchProcess
from vigil.bench.watch import AlertWatch
from vigil.servers.mosquitto import EmbeddedMosquitto
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate
from vigil.stream import NatsConnection, PinnedPartitions, StreamLayout

PATHS = ("inprocess", "stream-1", "stream-2")


@dataclass(frozen=True)
class Fleet:
    devices: list[tuple[str, str]]
    """(device id, password), device ``j`` assigned to ``patients[j]``."""
    patients: list[UUID]


def provision(servers: Servers, *, name: str, count: int) -> Fleet:
    """``count`` patients with an oximeter each, in one transaction; one credential sync (which
    also gives the broker the service users created so far)."""
    assert servers.broker_root is not None
    devices, patients = [], []
    with psycopg.connect(servers.database_url) as conn:
        tenant = admin.create_tenant(conn, name=f"bench {name} {uuid.uuid4().hex[:6]}")
        for i in range(count):
            patient, creds = admin.enrol_with_device(
                conn, tenant_id=tenant, display_name=f"Bench {name} {i}", kind="oximeter"
            )
            devices.append((creds.device_id, creds.password))
            patients.append(patient)
        conn.commit()
        sync_broker_credentials(conn, servers.broker_root)
    # Mosquitto reloads on SIGHUP, asynchronously: wait until it knows the new users.
    connect_device(servers.mqtt.host, servers.device_port, *devices[0]).close()
    return Fleet(devices, patients)


def _env(servers: Servers, state: Path, *, user: str, password: str, stream: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return {
        **env,
        "VIGIL_DATABASE_URL": servers.database_url,
        "VIGIL_MQTT_URL": (
            f"mqtt://{user}:{password}@{servers.mqtt.host}:{servers.mqtt.port}"
            f"/{servers.mqtt.mount_point}"
        ),
        "VIGIL_MQTT_CLIENT_ID": user,
        "VIGIL_MQTT_SHARED_GROUP": user,
        "VIGIL_NATS_URL": servers.nats_url,
        "VIGIL_STREAM_NAME": stream,
        "VIGIL_STATE_DIR": str(state),
    }


def path_processes(
    path: str, servers: Servers, state: Path, *, user: str, password: str, stream: str
) -> list[BenchProcess]:
    env = _env(servers, state, user=user, password=password, stream=stream)
    state.mkdir(parents=True, exist_ok=True)
    if path == "inprocess":
        args = ["-m", "vigil.bench.inprocess"]
        return [BenchProcess(path, args, env, ready=INPROCESS_READY, log_dir=state)]
    workers = int(path.split("-")[1])
    ingest = ["-m", "vigil", "ingest"]
    procs = [BenchProcess(f"{path}-ingest", ingest, env, ready="subscribed to", log_dir=state)]
    for ordinal in range(workers):
        procs.append(
            BenchProcess(
                f"{path}-detect-{ordinal}",
                ["-m", "vigil", "detect"],
                env,
                ready="running: partitions",
                log_dir=state,
            )
        )
    return procs


def quantile_ms(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000, 1)


def _seen(watch: AlertWatch, fleet: Fleet, sent: Sent) -> list[float]:
    """When each sent reading's finding became visible (the k-th finding of a patient is its
    device's k-th reading: one alert per patient, each device's readings in time order)."""
    return [watch.seen[fleet.patients[j]][k - 1] for j, k, _ in sent]


def _phase(
    watch: AlertWatch, devices: BenchDevices, fleet: Fleet, n: int, rate: float | None
) -> tuple[Sent, list[float]]:
    expected = watch.total + n
    sent = devices.publish(n, rate=rate)
    if not watch.wait_total(expected, timeout_s=120 + n / 20):
        raise RuntimeError(f"only {watch.total} of {expected} findings became alert changes")
    return sent, _seen(watch, fleet, sent)


def _latencies(sent: Sent, seen: list[float]) -> list[float]:
    return sorted(s - t for s, (_, _, t) in zip(seen, sent, strict=True))


def run_path(
    path: str,
    servers: Servers,
    state: Path,
    *,
    readings: int,
    devices: int,
    latency: int,
    idle: int = 0,
    idle_rate: float = 5.0,
) -> dict[str, Any]:
    assert servers.broker_root is not None
    user = f"vigil-bench-{path}-{uuid.uuid4().hex[:6]}"
    password = EmbeddedMosquitto(servers.broker_root).service_password(user)
    fleet = provision(servers, name=path, count=devices)
    stream = f"bench{path.replace('-', '')}{uuid.uuid4().hex[:6]}"
    procs = path_processes(path, servers, state / path, user=user, password=password, stream=stream)
    per_device = 1 + -(-readings // devices) + -(-latency // devices) + -(-idle // devices)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=per_device + 60)
    load = BenchDevices(servers.mqtt.host, servers.device_port, fleet.devices, base=base)
    watch = AlertWatch(servers.database_url, fleet.patients)
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.wait_ready()
        watch.start()
        load.start()
        _phase(watch, load, fleet, devices, None)  # warm-up: opens every alert
        idle_lat: list[float] = []
        if idle:
            idle_lat = _latencies(*_phase(watch, load, fleet, idle, idle_rate))
        sent, seen = _phase(watch, load, fleet, readings, None)
        elapsed = max(seen) - min(t for _, _, t in sent)
        per_s = readings / max(elapsed, 1e-9)
        rate = per_s / 2
        sent, seen = _phase(watch, load, fleet, latency, rate)
        lat = _latencies(sent, seen)
        applying = [watch.applying[fleet.patients[j]][k - 1] for j, k, _ in sent]
    except RuntimeError as exc:
        tails = "".join(f"\n--- {p.name}:\n{''.join(p.tail)}" for p in procs)
        stored, alerts, findings = _counts(servers, fleet)
        raise RuntimeError(
            f"{path}: {exc} (stored {stored}, {alerts} alerts holding {findings} findings){tails}"
        ) from exc
    finally:
        load.close()
        watch.stop()
        for proc in procs:
            proc.terminate()  # all at once: each takes a few seconds to wind down
        for proc in procs:
            proc.stop()
    streamed = {} if path == "inprocess" else stream_times(servers, stream)
    legs = _legs(servers, fleet, base, sent, seen, applying, streamed)
    stored, alerts, findings = _counts(servers, fleet)
    return {
        "readings_per_s": round(per_s, 1),
        "p50_ms": quantile_ms(lat, 50),
        "p99_ms": quantile_ms(lat, 99),
        **legs,
        "idle_p50_ms": quantile_ms(idle_lat, 50),
        "idle_p99_ms": quantile_ms(idle_lat, 99),
        "n": readings,
        "latency_n": latency,
        "latency_rate_per_s": round(rate, 1),
        "idle_n": idle,
        "idle_rate_per_s": idle_rate,
        "published": devices + idle + readings + latency,
        "stored": stored,
        "alerts": alerts,
        "alerted": findings,
    }


def stream_times(servers: Servers, stream: str) -> dict[tuple[str, datetime], float]:
    """When the readings stream stored each reading (its message's JetStream timestamp), by
    (device, reading time): read from the stream after the run, so nothing measured waits."""
    conn = NatsConnection(
        servers.nats_url, name="vigil-bench-legs", layout=StreamLayout(name=stream)
    ).open()
    out: dict[tuple[str, datetime], float] = {}
    try:
        partitions = PinnedPartitions(conn, prefix="bench-legs")
        for batch in partitions.replay(partitions.partitions, since=None, batch=1000):
            for m in batch:
                for r in m.readings:
                    out[(r.device_id, r.time)] = m.published_at.timestamp()
    finally:
        conn.close()
    return out


def _legs(
    servers: Servers,
    fleet: Fleet,
    base: datetime,
    sent: Sent,
    seen: list[float],
    applying: list[float],
    streamed: dict[tuple[str, datetime], float],
) -> dict[str, float]:
    """Where the half-load latency goes, per reading: p50 and p99 of each leg over the
    readings whose every timestamp was found (``split_n``). The legs: publish -> ingest's
    receipt (``to_ingest``: ``received_at``, the broker and the edge); receipt -> stored in the
    readings stream (``ingest_to_stream``: ingest's batch wait, its transaction and commit, the
    hand-off); stream -> the alerts transaction's start (``stream_to_apply``: the detect
    worker's pull, its queue, detection, and any earlier batch it was still applying); that
    start -> the alert change visible (``apply_to_visible``: the alerts transaction, the
    progress, the commit, NOTIFY and the watch's read). The in-process path has no stream:
    its middle two legs are one, ``ingest_to_apply``."""
    with psycopg.connect(servers.database_url) as conn:
        rows = conn.execute(
            "SELECT device_id, time, received_at FROM readings"
            " WHERE device_id = ANY(%s) AND time > %s",
            ([d for d, _ in fleet.devices], base),
        ).fetchall()
    received = {(device, at): got.timestamp() for device, at, got in rows}
    legs: dict[str, list[float]] = {}
    split = 0
    for (j, k, t), s, a in zip(sent, seen, applying, strict=True):
        key = (fleet.devices[j][0], base + timedelta(seconds=k))
        got = received.get(key)
        if got is None:
            continue
        if streamed:
            at = streamed.get(key)
            if at is None:
                continue
            marks = [("to_ingest", t), ("ingest_to_stream", got), ("stream_to_apply", at)]
        else:
            marks = [("to_ingest", t), ("ingest_to_apply", got)]
        marks += [("apply_to_visible", a), ("", s)]
        split += 1
        for (name, start), (_, stop) in itertools.pairwise(marks):
            legs.setdefault(name, []).append(stop - start)
    out: dict[str, float] = {"split_n": split}
    for name, values in legs.items():
        values.sort()
        out[f"{name}_p50_ms"] = quantile_ms(values, 50)
        out[f"{name}_p99_ms"] = quantile_ms(values, 99)
    # Kept for comparison with earlier runs: receipt -> alert change visible in one leg.
    rest = sorted(
        s - received[key]
        for (j, k, _), s in zip(sent, seen, strict=True)
        if (key := (fleet.devices[j][0], base + timedelta(seconds=k))) in received
    )
    out["ingest_to_alert_p50_ms"] = quantile_ms(rest, 50)
    out["ingest_to_alert_p99_ms"] = quantile_ms(rest, 99)
    return out


def _counts(servers: Servers, fleet: Fleet) -> tuple[int, int, int]:
    """Readings stored for the path's devices; its spo2_low alerts and the findings they hold."""
    with psycopg.connect(servers.database_url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM readings WHERE device_id = ANY(%s)",
            ([d for d, _ in fleet.devices],),
        ).fetchone()
        alerts = conn.execute(
            "SELECT count(*), coalesce(sum(finding_count), 0) FROM alerts"
            " WHERE patient_id = ANY(%s) AND cause = 'spo2_low'",
            (fleet.patients,),
        ).fetchone()
    assert stored is not None
    assert alerts is not None
    return int(stored[0]), int(alerts[0]), int(alerts[1])


def run_bench(
    settings: Settings,
    *,
    readings: int,
    devices: int,
    latency_readings: int,
    idle_readings: int = 0,
    idle_rate: float = 5.0,
    paths: tuple[str, ...] = PATHS,
    servers: Servers | None = None,
) -> dict[str, Any]:
    """Run the three paths; on ``servers`` when given (they need an embedded broker, whose
    password file the bench rewrites), else on embedded servers in a temporary folder (never
    the configured ones, never ``.vigil``)."""
    own = servers is None
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-pipeline-"))
    tmp.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root
    started, load_avg = time.monotonic(), os.getloadavg()[0]
    if servers is None:
        embedded = settings.model_copy(
            update={
                "state_dir": tmp,
                "database_url": None,
                "mqtt_url": None,
                "nats_url": None,
                # The Mosquitto path, as measured before the NATS edge became the embedded
                # default (its processes wait for ingest's "subscribed to").
                "mqtt_edge": settings.mqtt_edge or "mosquitto",
            }
        )
        servers = start_servers(embedded)
    if servers.broker_root is None:
        raise ValueError("the pipeline bench provisions devices on an embedded broker")
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
        results = {
            path: run_path(
                path,
                servers,
                tmp / "paths",
                readings=readings,
                devices=devices,
                latency=latency_readings,
                idle=idle_readings,
                idle_rate=idle_rate,
            )
            for path in paths
        }
    finally:
        if own:
            servers.close()
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = {}
    if "inprocess" in results:
        base = results["inprocess"]["readings_per_s"]
        for path in ("stream-1", "stream-2"):
            if path in results:
                key = f"{path.replace('-', '_')}_vs_inprocess"
                ratios[key] = round(results[path]["readings_per_s"] / base, 3)
    return {
        "readings": readings,
        "devices": devices,
        "latency_readings": latency_readings,
        "idle_readings": idle_readings,
        "cores": os.cpu_count(),
        "load_avg_1m_at_start": round(load_avg, 2),
        **results,
        **ratios,
        "seconds": round(time.monotonic() - started, 1),
    }
