"""`vigil bench gateway`: a cuff's stored measurements through the home gateway into Vigil.

A bumble-simulated cuff holding N measurements indicates them as fast as the virtual link
carries them; the gateway decodes each, fsyncs it to its disk queue, publishes it at QoS 1 with
the device's credentials and forgets it on PUBACK; Vigil's ingest stores it. Measured: the
seconds from the gateway's start to the last measurement stored (a backlog's upload), and the
decoder alone (values per second, in this process).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from vigil.gateway.characteristics import decode
from vigil.gateway.config import GatewayConfig
from vigil.gateway.decode_vitals import BLOOD_PRESSURE_MEASUREMENT
from vigil.gateway.simulated import cuff_records
from vigil.gateway.thread import GatewayThread
from vigil.ingest.runner import Ingest
from vigil.servers.stack import Servers, start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate

CUFF_ADDRESS = "F1:BE:00:00:00:01"
DECODES = 20_000


def _provision(servers: Servers, days: int) -> tuple[str, str]:
    with psycopg.connect(servers.database_url) as conn:
        migrate(conn)
        tenant = admin.create_tenant(conn, name=f"bench-gateway-{time.time_ns()}")
        _, creds = admin.enrol_with_device(
            conn,
            tenant_id=tenant,
            display_name="Bench cuff",
            kind="bp_cuff",
            conditions=["hypertension"],
            assigned_since=timedelta(days=days + 1),
        )
        conn.commit()
        if servers.broker_root is not None:
            sync_broker_credentials(conn, servers.broker_root)
    return creds.device_id, creds.password


def _stored(servers: Servers, device_id: str) -> tuple[int, int]:
    with psycopg.connect(servers.database_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT time) FROM readings"
            " WHERE device_id = %s AND metric = 'bp_systolic'",
            (device_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _decode_rate(values: list[bytes]) -> float:
    start = time.perf_counter()
    for i in range(DECODES):
        decode(BLOOD_PRESSURE_MEASUREMENT, values[i % len(values)], UTC)
    return DECODES / (time.perf_counter() - start)


def run_bench(
    settings: Settings, *, records: int, servers: Servers | None = None, timeout_s: float = 600
) -> dict[str, Any]:
    """On ``servers`` (embedded ones in a temporary folder if not given)."""
    tmp = Path(tempfile.mkdtemp(prefix="vigil-bench-gateway-"))
    tmp.chmod(0o755)
    own = servers is None
    if servers is None:
        settings = settings.model_copy(update={"state_dir": tmp})
        servers = start_servers(settings)
    try:
        every_min = 10
        days = records * every_min // (24 * 60) + 1
        device_id, password = _provision(servers, days)
        start = datetime.now(UTC).replace(second=0, microsecond=0, tzinfo=None)
        cfg = GatewayConfig.model_validate(
            {
                "mqtt_url": f"mqtt://{servers.mqtt.host}:{servers.device_port}",
                "queue_path": str(tmp / "gateway-queue.sqlite3"),
                "transport": "simulated",
                "devices": [
                    {
                        "address": CUFF_ADDRESS,
                        "kind": "blood_pressure",
                        "device_id": device_id,
                        "password": password,
                        "simulate": {
                            "records": records,
                            "start": (start - timedelta(days=days)).isoformat(),
                            "every_min": every_min,
                        },
                    }
                ],
            }
        )
        # The ingest of the edge the servers run (the NATS edge, or a given Mosquitto).
        edge = settings.model_copy(update={"mqtt_edge": servers.edge})
        ingest = Ingest(
            edge,
            database_url=servers.database_url,
            mqtt=servers.mqtt,
            nats_url=servers.nats_url or None,
        )
        ingest.start()
        ingest.transport.subscribed.wait(10)
        try:
            began = time.monotonic()
            with GatewayThread(cfg) as gateway:
                deadline = began + timeout_s
                while _stored(servers, device_id)[1] < records and time.monotonic() < deadline:
                    time.sleep(0.05)
                seconds = time.monotonic() - began
            if gateway.error is not None:
                raise gateway.error
        finally:
            ingest.stop()
        rows, distinct = _stored(servers, device_id)
        assert cfg.devices[0].simulate is not None
        return {
            "records": records,
            "seconds_to_all_stored": round(seconds, 2),
            "records_per_s": round(distinct / seconds, 1),
            "lost": records - distinct,
            "doubled": rows - distinct,
            "decodes_per_s": round(_decode_rate(cuff_records(cfg.devices[0].simulate))),
        }
    finally:
        if own:
            servers.close()
        shutil.rmtree(tmp, ignore_errors=True)
