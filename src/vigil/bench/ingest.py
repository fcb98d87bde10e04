"""`vigil bench ingest`: Vigil's full ingest path beside two bare subscribers, in one run, on the
edge that ships (the NATS server's MQTT listener, docs/ingest.md *The NATS edge*).

Three phases, each fed the same way: ``P`` publisher processes (devices split among them)
build every payload of ``K`` readings before the start, wait for one signal, then publish at
QoS 1 as fast as the edge PUBACKs. What takes the messages off the edge's capture consumer
(the one every ingest instance pulls from) differs:

- (a) a bare subscriber that only acknowledges and counts: the edge's and the machine's ceiling
  for taking messages off;
- (b) a bare COPY subscriber: ``json.loads``, one binary COPY a fetched batch into the same
  readings' hypertable (``reading_rows``, by its keys), commit, acknowledge (no validation,
  assignment lookup, idempotency or hand-off);
- (c) the full path: ``vigil ingest`` process(es), storing and handing off to the readings
  stream before acknowledging.

Each phase ends when the capture consumer has nothing pending or unacknowledged; readings/s is
from the start signal to then. CPU seconds per 1,000 readings come from ``/proc`` (the NATS
server, which is the MQTT broker too on this edge; PostgreSQL's postmaster and its backends;
the subscriber process(es); the publishers). Lost and doubled are counted in the database
(every phase that stores) and, for (c), in the readings stream too. When (a) finishes within
5 % of the publishers it is publisher-bound and the output says so: add publishers.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import psycopg
from paho.mqtt.enums import MQTTProtocolVersion

from vigil.bench.processes import BenchProcess
from vigil.core.metrics import Metric
from vigil.ingest.publisher import DevicePublisher
from vigil.servers.edge import EDGE_STREAM, INGEST_CONSUMER
from vigil.servers.nats import split_servers
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate, reading_series_keys

STEP_S = 10
"""Seconds between a device's readings (a monitor's pace: a backlog earns its rate tokens)."""
PHASES = ("a", "b", "c")
PHASE_NAMES = {"a": "bare counting", "b": "bare COPY", "c": "full path"}
_TYPES = ["timestamptz", "timestamptz", "int4", "float4"]


@dataclass(frozen=True)
class BenchDevice:
    device_id: str
    password: str
    patient_id: UUID


# ---------------------------------------------------------------------------------------------
# CPU from /proc


def _ticks(pid: int, *, reaped: bool = False) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    # utime, stime (fields 14, 15), cutime, cstime (16, 17): counted from the state field (3)
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if reaped else 0)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            out.append(int(entry.name))
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) of ``pids``, their live children and their reaped ones."""
    ticks = 0
    for pid in pids:
        ticks += _ticks(pid, reaped=True)
        ticks += sum(_ticks(child) for child in _children(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def _postmaster(database_url: str) -> int | None:
    """PostgreSQL's postmaster (its backends are its children), if it runs on this machine."""
    try:
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        return int(Path(str(row[0]), "postmaster.pid").read_text().split()[0])
    except (psycopg.Error, OSError, ValueError, AssertionError):
        return None


# ---------------------------------------------------------------------------------------------
# Publishers


def payloads(device_id: str, base: datetime, messages: int, per_message: int) -> list[bytes]:
    """``messages`` payloads of ``per_message`` spo2 readings, STEP_S apart."""
    out = []
    for m in range(messages):
        readings = [
            {
                "ts": (base + timedelta(seconds=STEP_S * (m * per_message + j))).isoformat(),
                "metric": "spo2",
                "value": 90 + (m + j) % 10,
                "unit": "%",
            }
            for j in range(per_message)
        ]
        out.append(json.dumps({"readings": readings}).encode())
    return out


def _publisher(
    host: str,
    port: int,
    devices: list[tuple[str, str, int]],
    base_iso: str,
    per_message: int,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """Child process: build every payload, connect, wait for ``go``, publish round-robin."""
    base = datetime.fromisoformat(base_iso)
    built = [(d, payloads(d, base, n, per_message)) for d, _, n in devices]
    pubs = [
        DevicePublisher(host, port, d, p, inflight=500, protocol=MQTTProtocolVersion.MQTTv311)
        for d, p, _ in devices
    ]
    for pub in pubs:
        pub.connect()
    ready.set()
    go.wait()
    cpu0, began = time.process_time(), time.time()
    infos = []
    longest = max(len(b) for _, b in built)
    for i in range(longest):
        for pub, (_, bodies) in zip(pubs, built, strict=True):
            if i < len(bodies):
                infos.append(pub.publish(bodies[i]))
    for info in infos:
        info.wait_for_publish(600)
    acked = sum(1 for info in infos if info.is_published())
    done = time.time()
    for pub in pubs:
        pub.close()
    refused = sum(len(p.refused) for p in pubs)
    out.send(
        {"acked": acked, "began": began, "done": done, "cpu": time.process_time() - cpu0}
        | {"refused": refused}
    )


# ---------------------------------------------------------------------------------------------
# The bare subscribers (a) and (b): a child process each, on the edge's capture consumer


def _bare(nats_url: str, copy_into: str | None, patients: dict[str, str], ready: Any) -> None:
    asyncio.run(_bare_async(nats_url, copy_into, patients, ready))


async def _bare_async(
    nats_url: str, database_url: str | None, patients: dict[str, str], ready: Any
) -> None:
    servers = split_servers(nats_url)
    first = nats.connect  # the bare client: no Vigil code on the hot path
    from urllib.parse import urlsplit

    auth = urlsplit(servers[0])
    nc = await first(servers, user=auth.username, password=auth.password, name="bench-bare")
    js = nc.jetstream()
    sub = await js.pull_subscribe_bind(INGEST_CONSUMER, EDGE_STREAM)
    conn = await psycopg.AsyncConnection.connect(database_url) if database_url else None
    pids = {d: UUID(p) for d, p in patients.items()}
    keys: dict[tuple[str, str], int] = {}
    if database_url:
        # Straight into the hypertable, by its series keys (the readings view's trigger is for
        # loaders and tests: it would make this baseline slower than a bare COPY).
        with psycopg.connect(database_url) as sync:
            series = reading_series_keys(
                sync, series=[(p, m, d) for d, p in pids.items() for m in Metric]
            )
        keys = {(d, m.value): k for (_, m, d), k in series.items()}
    ready.set()
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            if conn is not None:
                now = datetime.now(UTC)
                async with (
                    conn.cursor() as cur,
                    cur.copy(
                        "COPY reading_rows (time, received_at, series, value)"
                        " FROM STDIN (FORMAT BINARY)"
                    ) as copy,
                ):
                    copy.set_types(_TYPES)
                    for msg in msgs:
                        device = msg.subject.split(".")[-2]
                        for r in json.loads(msg.data)["readings"]:
                            await copy.write_row(
                                (
                                    datetime.fromisoformat(r["ts"]),
                                    now,
                                    keys[(device, r["metric"])],
                                    float(r["value"]),
                                )
                            )
                await conn.commit()
            for msg in msgs:
                await msg.ack()
    finally:
        await nc.close()


# ---------------------------------------------------------------------------------------------
# The run


async def _consumer_state(nats_url: str) -> tuple[int, int, int]:
    servers = split_servers(nats_url)
    from urllib.parse import urlsplit

    auth = urlsplit(servers[0])
    nc = await nats.connect(servers, user=auth.username, password=auth.password)
    try:
        info = await nc.jetstream().consumer_info(EDGE_STREAM, INGEST_CONSUMER)
        return info.num_pending or 0, info.num_ack_pending or 0, info.delivered.stream_seq or 0
    finally:
        await nc.close()


def _drained_at(
    nats_url: str, expected_seq: int, timeout_s: float, alive: Callable[[], bool]
) -> float:
    """When the capture consumer has delivered up to ``expected_seq`` and holds nothing
    unacknowledged (polled every 50 ms)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError("the subscriber under test stopped before it took everything")
        pending, unacked, seq = asyncio.run(_consumer_state(nats_url))
        if pending == 0 and unacked == 0 and seq >= expected_seq:
            return time.time()
        time.sleep(0.05)
    raise TimeoutError(f"the capture consumer did not drain in {timeout_s:.0f} s")


async def _stream_seq(nats_url: str) -> int:
    servers = split_servers(nats_url)
    from urllib.parse import urlsplit

    auth = urlsplit(servers[0])
    nc = await nats.connect(servers, user=auth.username, password=auth.password)
    try:
        info = await nc.jetstream().stream_info(EDGE_STREAM)
        return info.state.last_seq
    finally:
        await nc.close()


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
                assigned_since=timedelta(days=360),  # the phases' readings are months old
            )
            out.append(BenchDevice(creds.device_id, creds.password, patient))
        conn.commit()
        if servers.broker_root is not None:
            sync_broker_credentials(conn, servers.broker_root)
    # The edge reloads its users on SIGHUP, asynchronously: wait until it takes the last one.
    deadline = time.monotonic() + 30
    while True:
        pub = DevicePublisher(
            "127.0.0.1",
            servers.device_port,
            out[-1].device_id,
            out[-1].password,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        try:
            pub.connect(timeout=2)
            pub.close()
            return out
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def db_counts(database_url: str, devices: list[BenchDevice], since: datetime) -> tuple[int, int]:
    """Rows and distinct (device, metric, time) keys of ``devices`` from ``since`` on."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (device_id, metric, time)) FROM readings"
            " WHERE device_id = ANY(%s) AND time >= %s",
            ([d.device_id for d in devices], since),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def stream_counts(nats_url: str, stream: str, since: datetime) -> tuple[int, int, int]:
    """Messages, readings and distinct (device, metric, time) keys in the readings stream
    ``stream`` with reading times from ``since`` on (read whole, with an ephemeral consumer)."""
    from urllib.parse import urlsplit

    from vigil.stream.codec import decode_readings

    servers = split_servers(nats_url)
    auth = urlsplit(servers[0])
    nc = await nats.connect(servers, user=auth.username, password=auth.password)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        sub = await js.pull_subscribe(">", stream=stream)
        messages = readings = 0
        keys: set[tuple[str, str, datetime]] = set()
        seen = 0
        while seen < last:
            try:
                batch = await sub.fetch(1000, timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            for msg in batch:
                seen = max(seen, msg.metadata.sequence.stream)
                patient = UUID(msg.subject.rsplit(".", 1)[-1])
                found = [r for r in decode_readings(patient, msg.data) if r.time >= since]
                if found:
                    messages += 1
                readings += len(found)
                keys.update((r.device_id, r.metric.value, r.time) for r in found)
                await msg.ack()
        await sub.unsubscribe()
        return messages, readings, len(keys)
    finally:
        await nc.close()


def _ingest_env(servers: Servers, state: Path, stream: str, processes: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return {
        **env,
        "VIGIL_DATABASE_URL": servers.database_url,
        "VIGIL_NATS_URL": servers.nats_url,
        "VIGIL_MQTT_EDGE": "nats",
        "VIGIL_MQTT_URL": f"mqtt://{servers.mqtt.host}:{servers.device_port}",
        "VIGIL_STREAM_NAME": stream,
        "VIGIL_STATE_DIR": str(state),
    }


@dataclass
class Phase:
    name: str
    readings: int
    messages: int
    seconds: float
    acked: int
    cpu: dict[str, float]
    publisher_bound: bool
    lost: int | None = None
    doubled: int | None = None
    stream_lost: int | None = None
    stream_doubled: int | None = None
    stream_messages: int | None = None

    @property
    def per_s(self) -> float:
        return self.readings / self.seconds if self.seconds > 0 else 0.0


def run_phase(
    phase: str,
    servers: Servers,
    fleet: list[BenchDevice],
    *,
    base: datetime,
    messages_per_device: int,
    per_message: int,
    publishers: int,
    processes: int,
    state: Path,
    pids: dict[str, int | None],
) -> Phase:
    ctx = mp.get_context("spawn")
    total_messages = messages_per_device * len(fleet)
    subscriber: list[int] = []
    cleanup: list[Callable[[], None]] = []
    stream = f"benchingest{uuid.uuid4().hex[:8]}"
    try:
        if phase == "c":
            env = _ingest_env(servers, state / "c", stream, processes)
            (state / "c").mkdir(parents=True, exist_ok=True)
            proc = BenchProcess(
                "ingest",
                ["-m", "vigil", "ingest", "--processes", str(processes)],
                env,
                ready="edge: pulling from",
                log_dir=state / "c",
            ).start()
            cleanup.append(proc.stop)
            proc.wait_ready()
            alive = proc.running
            assert proc.pid is not None
            subscriber.append(proc.pid)
        else:
            ready = ctx.Event()
            patients = {d.device_id: str(d.patient_id) for d in fleet}
            bare = ctx.Process(
                target=_bare,
                args=(
                    servers.nats_url,
                    servers.database_url if phase == "b" else None,
                    patients,
                    ready,
                ),
                daemon=True,
            )
            bare.start()

            def stop_bare() -> None:
                bare.terminate()
                bare.join(10)

            cleanup.append(stop_bare)
            alive = bare.is_alive
            if not ready.wait(60):
                raise RuntimeError("the bare subscriber did not start")
            assert bare.pid is not None
            subscriber.append(bare.pid)
        seq0 = asyncio.run(_stream_seq(servers.nats_url))
        go = ctx.Event()
        shares = [fleet[i::publishers] for i in range(publishers)]
        procs, pipes = [], []
        for share in shares:
            if not share:
                continue
            ready_p = ctx.Event()
            parent, child = ctx.Pipe(duplex=False)
            p = ctx.Process(
                target=_publisher,
                args=(
                    "127.0.0.1",
                    servers.device_port,
                    [(d.device_id, d.password, messages_per_device) for d in share],
                    base.isoformat(),
                    per_message,
                    ready_p,
                    go,
                    child,
                ),
                daemon=True,
            )
            p.start()
            procs.append((p, ready_p))
            pipes.append(parent)
        for _, ready_p in procs:
            if not ready_p.wait(120):
                raise RuntimeError("a publisher did not get ready")
        watched = {
            "broker_nats": [pids["nats"]] if pids["nats"] else [],
            "database": [pids["postgres"]] if pids["postgres"] else [],
            "ingest": subscriber,
        }
        before = {k: cpu_seconds(v) for k, v in watched.items()}
        began = time.time()
        go.set()
        reports = [pipe.recv() for pipe in pipes]
        for p, _ in procs:
            p.join(30)
        published = max(r["done"] for r in reports)
        drained = _drained_at(servers.nats_url, seq0 + total_messages, 600, alive)
        after = {k: cpu_seconds(v) for k, v in watched.items()}
        readings = total_messages * per_message
        cpu = {k: after[k] - before[k] for k in watched}
        cpu["publishers"] = sum(r["cpu"] for r in reports)
        seconds = drained - began
        result = Phase(
            phase,
            readings,
            total_messages,
            seconds,
            sum(r["acked"] for r in reports),
            {k: round(v * 1000 / readings, 4) for k, v in cpu.items()},
            publisher_bound=(drained - published) < 0.05 * seconds,
        )
        if phase in ("b", "c"):
            rows, distinct = db_counts(servers.database_url, fleet, base)
            result.lost, result.doubled = readings - distinct, rows - distinct
        else:
            result.lost, result.doubled = total_messages - result.acked, 0
        if phase == "c":
            stored_in = f"{stream.upper()}_READINGS"
            m, n, distinct = asyncio.run(stream_counts(servers.nats_url, stored_in, base))
            result.stream_messages = m
            result.stream_lost, result.stream_doubled = readings - distinct, n - distinct
        return result
    finally:
        for step in reversed(cleanup):
            step()


def run_bench(
    settings: Settings,
    *,
    readings: int,
    devices: int = 48,
    publishers: int = 2,
    per_message: int = 10,
    processes: int | None = None,
    phases: Iterable[str] = PHASES,
) -> dict[str, Any]:
    """One run of each phase on one edge and database; ``processes``: `vigil ingest`'s
    (default: its own default)."""
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-ingest-"))
    tmp.chmod(0o755)
    settings = settings.model_copy(
        update={"mqtt_edge": "nats", "mqtt_url": None, "nats_url": None, "state_dir": tmp}
    )
    servers = start_servers(settings, supervise=False)  # the recovery figure kills the edge
    restarted = None
    try:
        fleet = provision(servers, devices)
        nats_pid = _nats_pid(servers)
        pids = {"nats": nats_pid, "postgres": _postmaster(servers.database_url)}
        per_device = max(1, readings // (per_message * devices))
        n_processes = processes if processes is not None else settings.ingest_processes
        out: dict[str, Any] = {
            "edge": "nats",
            "devices": devices,
            "publishers": publishers,
            "per_message": per_message,
            "readings": per_device * per_message * devices,
            "ingest_processes": n_processes,
        }
        origin = datetime.now(UTC).replace(microsecond=0) - timedelta(days=300)
        span = timedelta(seconds=STEP_S * per_device * per_message + 3600)
        # A warm-up (not counted): the spawn path, the edge's and the database's caches.
        run_phase(
            "b",
            servers,
            fleet,
            base=origin,
            messages_per_device=max(1, min(per_device, 2000 // (per_message * devices) + 1)),
            per_message=per_message,
            publishers=publishers,
            processes=n_processes,
            state=tmp,
            pids=pids,
        )
        results: dict[str, Phase] = {}
        for i, phase in enumerate(phases):
            base = origin + timedelta(days=1) + (i + 1) * span
            results[phase] = run_phase(
                phase,
                servers,
                fleet,
                base=base,
                messages_per_device=per_device,
                per_message=per_message,
                publishers=publishers,
                processes=n_processes,
                state=tmp,
                pids=pids,
            )
        for name, r in results.items():
            out[f"{name}_readings_per_s"] = round(r.per_s, 1)
            out[f"{name}_seconds"] = round(r.seconds, 2)
            out[f"{name}_pubacked"] = r.acked
            out[f"{name}_lost"] = r.lost
            out[f"{name}_doubled"] = r.doubled
            out[f"{name}_publisher_bound"] = r.publisher_bound
            for who, v in r.cpu.items():
                out[f"{name}_cpu_s_per_1k_{who}"] = v
            if r.stream_messages is not None:
                out[f"{name}_stream_messages"] = r.stream_messages
                out[f"{name}_stream_lost"] = r.stream_lost
                out[f"{name}_stream_doubled"] = r.stream_doubled
        if "c" in results:
            for ref in ("a", "b"):
                if ref in results and results[ref].per_s > 0:
                    out[f"c_over_{ref}"] = round(results["c"].per_s / results[ref].per_s, 3)
        if "a" in results and results["a"].publisher_bound:
            out["note"] = "(a) is publisher-bound: add --publishers for a true ceiling"
        from vigil.bench.edge import recovery  # it imports this module

        restarted, out["edge_recovery_s"] = recovery(servers, fleet[0], origin - timedelta(hours=1))
        return out
    finally:
        servers.close()
        if restarted is not None:
            restarted.stop()  # the server started again here is not the stack's to stop
        shutil.rmtree(tmp, ignore_errors=True)


def _nats_pid(servers: Servers) -> int | None:
    if servers.broker_root is None:
        return None
    try:
        return int((servers.broker_root / "nats-server.pid").read_text().strip())
    except (OSError, ValueError):
        return None
