"""`vigil bench api`: latency and throughput of the dashboard's three live reads.

Loads ``patients`` simulated patients with ``days`` of history (heart rate and SpO2 hourly,
blood pressure twice a day, glucose three times, weight daily) and a few alerts each into a
fresh database (a throw-away embedded PostgreSQL unless one is configured), serves the API from
a separate uvicorn process, and drives each endpoint from ``clients`` concurrent keep-alive
connections (closed loop: each client sends its next request when the last one is answered).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
import psycopg
from psycopg.types.json import Jsonb

from vigil.api import repo
from vigil.api.access import Role
from vigil.api.security import hash_password, new_token, token_digest
from vigil.bench.reports import load_cgm, report_paths
from vigil.core.metrics import Metric
from vigil.servers.process import free_port
from vigil.settings import Settings
from vigil.storage import migrate, reading_series_keys, rebuild_latest_readings

log = logging.getLogger(__name__)

SCHEDULE = {  # metric -> (readings per day, mean, spread, unit)
    "heart_rate": (24, 75.0, 8.0, "/min"),
    "spo2": (24, 95.0, 1.5, "%"),
    "bp_systolic": (2, 135.0, 12.0, "mm[Hg]"),
    "bp_diastolic": (2, 85.0, 8.0, "mm[Hg]"),
    "glucose": (3, 120.0, 25.0, "mg/dL"),
    "body_weight": (1, 80.0, 1.0, "kg"),
}


@contextmanager
def _database(settings: Settings) -> Iterator[str]:
    if settings.database_url is not None:
        yield settings.database_url
        return
    from vigil.servers import EmbeddedPostgres

    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-api-"))
    tmp.chmod(0o755)
    pg = EmbeddedPostgres(tmp / "postgres")
    pg.start()
    try:
        yield pg.url()
    finally:
        pg.stop("fast")
        shutil.rmtree(tmp, ignore_errors=True)


def load(url: str, *, patients: int, days: int, team_size: int) -> dict[str, Any]:
    """Create the bench tenant and its history; returns ids and tokens to drive the API."""
    rng = random.Random(7)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(url) as conn:
        migrate(conn)
        conn.commit()
        tenant: UUID = _one(
            conn,
            "INSERT INTO tenants (name) VALUES (%s) RETURNING id",
            (f"bench-{time.time_ns()}",),
        )
        ids: list[UUID] = [
            r[0]
            for r in conn.execute(
                "INSERT INTO patients (tenant_id, display_name, conditions)"
                " SELECT %s, 'Bench patient ' || g, ARRAY['copd'] FROM generate_series(1, %s) g"
                " RETURNING id",
                (tenant, patients),
            ).fetchall()
        ]
        teams = [
            repo.create_team(conn, tenant_id=tenant, name=f"Team {i}")
            for i in range(max(1, -(-patients // team_size)))
        ]
        conn.execute(
            "INSERT INTO care_team_patients (team_id, patient_id) SELECT * FROM unnest(%s, %s)",
            ([teams[i // team_size] for i in range(len(ids))], ids),
        )
        nurse = repo.create_user(
            conn,
            tenant_id=tenant,
            email=f"nurse-{time.time_ns()}@bench.example",
            display_name="Bench nurse",
            role=Role.CLINICIAN,
            password_hash=hash_password(new_token()),
        )
        repo.add_member(conn, team_id=teams[0], user_id=nurse, tenant_id=tenant)
        token = new_token()
        repo.store_token(
            conn, digest=token_digest(token), user_id=nurse, expires_at=now + timedelta(days=1)
        )
        # Straight into the hypertable by its keys (the readings view takes a COPY one row at
        # a time); the SCHEDULE's units are the metrics' canonical ones.
        series = reading_series_keys(
            conn,
            series=[(pid, Metric(metric), f"bench-{n:05d}")
                    for n, pid in enumerate(ids) for metric in SCHEDULE],
        )  # fmt: skip
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY reading_rows (time, received_at, series, value) FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["timestamptz", "timestamptz", "int4", "float4"])
            start = now - timedelta(days=days)
            for n, pid in enumerate(ids):
                for metric, (per_day, mean, spread, _unit) in SCHEDULE.items():
                    key = series[(pid, Metric(metric), f"bench-{n:05d}")]
                    step = timedelta(hours=24 / per_day)
                    t = start + timedelta(minutes=rng.randrange(60))
                    while t < now:
                        value = round(rng.gauss(mean, spread), 1)
                        copy.write_row((t, t, key, value))
                        t += step
        rebuild_latest_readings(conn)
        conn.execute(
            "INSERT INTO alerts (tenant_id, patient_id, episode, cause, metrics, detector, state,"
            " severity, first_seen, last_seen, last_value, explanation, opened_at, updated_at,"
            " resolved_at, outcome)"
            " SELECT %s, p, c, c, ARRAY['spo2'], 'bench', s, 20 + 10 * (g %% 3),"
            "  now() - g * interval '1 hour', now() - g * interval '1 hour', 88,"
            "  %s, now() - g * interval '1 hour',"
            "  now() - g * interval '1 hour',"
            "  CASE WHEN s = 'resolved' THEN now() END,"
            "  CASE WHEN s = 'resolved' THEN 'actionable' END"
            " FROM unnest(%s::uuid[]) WITH ORDINALITY AS x(p, g),"
            " (VALUES ('spo2_low', 'open'), ('hr_high', 'acknowledged'),"
            "  ('bp_high', 'resolved')) AS c(c, s)",
            (tenant, Jsonb({"sentence": "SpO2 88 % is below 90 %", "value": 88}), ids),
        )
        conn.commit()
        # What autovacuum would soon do on a running system: statistics, and the visibility
        # map that lets index-only scans skip the heap (else it runs during the measurement).
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        try:  # and write the load's pages out now, not in a checkpoint during the measurement
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            log.info("not allowed to CHECKPOINT: the load's pages are written out later")
        rows = _one(conn, "SELECT count(*) FROM readings WHERE patient_id = ANY(%s)", (ids,))
    return {
        "token": token,
        "team": str(teams[0]),
        "patients": [str(p) for p in ids[:team_size]],
        "readings": rows,
    }


def _one(conn: psycopg.Connection[Any], sql: Any, params: Any) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


@contextmanager
def _servers(
    url: str, processes: int, extra_env: dict[str, str], pids: list[int] | None = None
) -> Iterator[list[str]]:
    """``processes`` uvicorn processes, each on its own port (clients spread over them, as a
    load balancer would): one per core without uvicorn's multi-worker socket sharing. Their
    process ids are added to ``pids`` when given."""
    env = {**os.environ, **extra_env, "VIGIL_DATABASE_URL": url}
    procs: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(processes):
            port = free_port()
            cmd = [
                sys.executable, "-m", "uvicorn", "vigil.bench.api_app:create", "--factory",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--log-level", "warning", "--no-server-header",
                # The warm-up visits 50 connections one after another: on a busy machine the
                # first ones wait longer than uvicorn's 5-s default before the measurement.
                "--timeout-keep-alive", "60",
            ]  # fmt: skip
            procs.append((subprocess.Popen(cmd, env=env), f"http://127.0.0.1:{port}"))
            if pids is not None:
                pids.append(procs[-1][0].pid)
        deadline = time.monotonic() + 60
        for proc, base in procs:
            while not _ready(base):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the API server did not start")
                time.sleep(0.2)
        yield [base for _, base in procs]
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            proc.wait(30)


def _cpu_s(pids: list[int]) -> float | None:
    """CPU seconds (user and system) the processes have used so far; None where /proc is not."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def _with_cpu(
    pids: list[int], requests: int, drive: Coroutine[Any, Any, dict[str, float]]
) -> dict[str, float]:
    """``drive``'s figures, and the API processes' CPU milliseconds a request (warm-up
    included: a few dozen requests in ten thousand), a figure the machine's load moves less
    than the latencies."""
    before = _cpu_s(pids)
    result = _run(drive)
    after = _cpu_s(pids)
    if before is not None and after is not None:
        result["server_cpu_ms_per_request"] = round((after - before) * 1000 / requests, 3)
    return result


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


class _Connection(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive client: the load generator shares the machine with the
    server, so it must cost little CPU per request (a full client costs several times more;
    asyncio streams, twice as much as this protocol)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        # Asks for compression as the dashboard's browser does (and does not decode it).
        self.head = (
            f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept-Encoding: gzip, deflate, br\r\n\r\n"
        ).encode()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.response: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.response is None:
            return
        at = self.buffer.find(b"content-length:", 0, end)
        if at < 0:
            at = self.buffer.lower().find(b"content-length:", 0, end)
        length = int(self.buffer[at + 15 : self.buffer.find(b"\r\n", at)]) if at >= 0 else 0
        if len(self.buffer) >= end + 4 + length:
            status = int(self.buffer[9:12])
            del self.buffer[: end + 4 + length]
            self.response.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.buffer.clear()
        if self.response is not None and not self.response.done():
            self.response.set_exception(exc or ConnectionError("the server closed"))

    async def get(self, path: str) -> int:
        loop = asyncio.get_running_loop()
        if self.transport is None or self.transport.is_closing():
            # First use, or the server closed it while idle (its keep-alive ran out), as a
            # browser's connection is: connect again.
            await loop.create_connection(lambda: self, self.host, self.port)
        assert self.transport is not None
        self.response = loop.create_future()
        self.transport.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head)
        return await self.response

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def _run(coroutine: Coroutine[Any, Any, dict[str, float]]) -> dict[str, float]:
    """On uvloop when installed (it comes with the server's dependencies): less CPU for the
    load generator, more for the server it measures."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def _drive(
    bases: list[str], paths: list[str], token: str, *, clients: int, requests: int
) -> dict[str, float]:
    connections = []
    for k in range(clients):
        host, port = bases[k % len(bases)].removeprefix("http://").split(":")
        connections.append(_Connection(host, int(port), token))
    latencies: list[float] = []
    try:
        # Warm-up: connect, prepare statements, and ask every path once of every server (a
        # running dashboard's reads are in its cache; a cold start is a different figure).
        for k, conn in enumerate(connections):
            for i in range(2 if k >= len(bases) else len(paths)):
                if await conn.get(paths[(k + i) % len(paths)]) != 200:
                    raise RuntimeError(f"warm-up request to {paths[0]} failed")
        counter = iter(range(requests))

        async def worker(k: int, conn: _Connection) -> None:
            for i in counter:
                t = time.perf_counter()
                status = await conn.get(paths[(i + k) % len(paths)])
                latencies.append(time.perf_counter() - t)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}")

        start = time.perf_counter()
        await asyncio.gather(*(worker(k, c) for k, c in enumerate(connections)))
        elapsed = time.perf_counter() - start
    finally:
        for conn in connections:
            conn.close()
    ms = sorted(x * 1000 for x in latencies)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
        "rps": round(len(ms) / elapsed, 1),
    }


def run_bench(
    settings: Settings,
    *,
    patients: int = 1000,
    days: int = 30,
    team_size: int = 100,
    clients: int = 50,
    requests: int = 10_000,
    processes: int = 2,
    cache: bool = True,
    cgm_days: int = 0,
    report_clients: int = 1,
    report_requests: int = 20,
) -> dict[str, Any]:
    """``cache=False`` serves every read from the database (the read cache's TTLs set to 0).
    ``cgm_days`` > 0 adds that much 5-minute CGM to every patient and times the clinic list
    and the AGP (vigil.bench.reports) from ``report_clients`` clients (one by default: a
    second client's warm-up of a slow read outlasts uvicorn's 5-s keep-alive of the first)."""
    env = {} if cache else {"VIGIL_API_READ_CACHE_S": "0", "VIGIL_API_CHART_CACHE_S": "0"}
    with _database(settings) as url:
        t = time.perf_counter()
        data = load(url, patients=patients, days=days, team_size=team_size)
        load_s = time.perf_counter() - t
        team, token = data["team"], data["token"]
        endpoints = {
            "alert_inbox": ["/api/v1/alerts?limit=50"],
            "rollup_30d_hourly": [
                f"/api/v1/patients/{p}/readings/rollup?metric=heart_rate&bucket=1h"
                for p in data["patients"]
            ],
            "team_latest_vitals": [f"/api/v1/care-teams/{team}/latest-vitals"],
        }
        cgm = load_cgm(url, patient=data["patients"][0], days=cgm_days) if cgm_days else {}
        pids: list[int] = []
        with _servers(url, processes, env, pids) as bases:
            results = {
                name: _with_cpu(
                    pids, requests, _drive(bases, paths, token, clients=clients, requests=requests)
                )
                for name, paths in endpoints.items()
            }
            for name, paths in (report_paths(data["patients"]) if cgm_days else {}).items():
                who = cgm["admin_token"] if name == "clinic_list_14d" else token
                results[name] = _run(_drive(bases, paths, who, clients=report_clients,
                                            requests=report_requests))  # fmt: skip
    return {
        "endpoints": results,
        "setup": {
            "patients": patients,
            "days": days,
            "readings": data["readings"],
            "team_size": team_size,
            "clients": clients,
            "requests_per_endpoint": requests,
            "server_processes": processes,
            "read_cache_s": settings.api_read_cache_s if cache else 0,
            "chart_cache_s": settings.api_chart_cache_s if cache else 0,
            "load_s": round(load_s, 1),
            "cgm_days": cgm_days,
            "cgm_readings": cgm.get("cgm_readings", 0),
            "cgm_load_s": cgm.get("cgm_load_s", 0),
            "report_clients": report_clients if cgm_days else 0,
        },
    }
