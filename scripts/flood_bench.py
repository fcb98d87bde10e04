"""One device floods, another measures: how late does the second device's reading get stored?

    .venv/bin/python scripts/flood_bench.py --flood 50000

Embedded PostgreSQL and Mosquitto in a temporary folder, Vigil's ingest in this process (direct
subscription, the default). A separate process publishes ``--flood`` one-reading QoS 1 messages
as fast as the broker takes them from one device; meanwhile a second device publishes one
reading every 100 ms, and each of its readings' delay (publish to commit) is recorded. Prints
the flood's attempted / PUBACKed / stored / rejected (rate limited, with a reason) / lost /
doubled and the second device's delay percentiles, as JSON. A figure, not a test: nothing is
asserted on timing. It also prints the delay's part up to ingest's receipt (arrival) and the
load average at the end. ``--rate 0`` turns the per-device rate limit off (the behaviour before it);
``--rate`` and ``--burst`` otherwise default to the settings' defaults.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from vigil.ingest import DevicePublisher, Ingest
from vigil.servers import start_servers, sync_broker_credentials
from vigil.settings import Settings
from vigil.storage import admin, migrate


def _body(ts: datetime, value: int) -> bytes:
    reading = {"ts": ts.isoformat(), "metric": "heart_rate", "value": value, "unit": "/min"}
    return json.dumps({"readings": [reading]}).encode()


def _flood(port: int, device_id: str, password: str, n: int, start: str, out: Any) -> None:
    pub = DevicePublisher("127.0.0.1", port, device_id, password, inflight=1000)
    pub.connect()
    t0 = datetime.fromisoformat(start)
    infos = [pub.publish(_body(t0 + timedelta(milliseconds=i), 60 + i % 50)) for i in range(n)]
    for info in infos:
        info.wait_for_publish(120)
    out.send(sum(info.is_published() for info in infos) - len(pub.refused))
    pub.close()


def _counts(conn: psycopg.Connection[Any], flooder: str, quiet: Any) -> tuple[int, int, int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM readings WHERE device_id = %s),"
        # A batch's rate-limited messages of a device share one row; count the messages.
        " (SELECT coalesce(sum(CASE WHEN reason LIKE 'rate limited:%%' THEN jsonb_array_length("
        "convert_from(payload, 'UTF8')::jsonb -> 'rate_limited_messages') ELSE 1 END), 0)"
        " FROM rejected_messages WHERE device_id = %s),"
        " (SELECT count(*) - count(DISTINCT (metric, time)) FROM readings WHERE device_id = %s),"
        " (SELECT count(*) FROM readings WHERE device_id = %s)",
        (flooder, flooder, flooder, quiet.device_id),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=50_000)
    defaults = Settings()
    parser.add_argument("--rate", type=float, default=defaults.ingest_device_rate_per_s)
    parser.add_argument("--burst", type=int, default=defaults.ingest_device_burst)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vigil-flood-"))
    tmp.chmod(0o755)
    settings = Settings(
        state_dir=tmp, ingest_device_rate_per_s=args.rate, ingest_device_burst=args.burst
    )
    servers = start_servers(settings)
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
            tenant = admin.create_tenant(conn, name="flood")
            fleet = []
            for name in ("flooder", "quiet"):
                _, creds = admin.enrol_with_device(
                    conn, tenant_id=tenant, display_name=name, kind="wearable"
                )
                fleet.append(creds)
            conn.commit()
            assert servers.broker_root is not None
            sync_broker_credentials(conn, servers.broker_root)
        time.sleep(0.5)  # the broker reloads its password file asynchronously
        flooder, quiet = fleet
        committed: dict[str, float] = {}
        received: dict[str, float] = {}
        """The quiet readings' arrival at ingest (wall clock): their delay's broker part."""
        lock = threading.Lock()

        def sink(messages: Any) -> None:
            now = time.monotonic()
            with lock:
                for m in messages:
                    if m.device_id == quiet.device_id:
                        for r in m.readings:
                            committed[r.time.isoformat()] = now
                        received[r.time.isoformat()] = r.received_at.timestamp()

        ingest = Ingest(settings, database_url=servers.database_url, mqtt=servers.mqtt, sink=sink)
        ingest.start()
        ingest.transport.subscribed.wait(15)
        base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        parent, child = mp.get_context("spawn").Pipe(duplex=False)
        proc = mp.get_context("spawn").Process(
            target=_flood,
            args=(
                servers.device_port,
                flooder.device_id,
                flooder.password,
                args.flood,
                base.isoformat(),
                child,
            ),
        )
        pub = DevicePublisher("127.0.0.1", servers.device_port, quiet.device_id, quiet.password)
        pub.connect()
        sent: dict[str, float] = {}
        sent_wall: dict[str, float] = {}
        t_start = time.monotonic()
        proc.start()
        i = 0
        while proc.is_alive() or i < 20:
            ts = base + timedelta(days=1, seconds=i)
            sent[ts.isoformat()] = time.monotonic()
            sent_wall[ts.isoformat()] = time.time()
            pub.publish(_body(ts, 70))
            i += 1
            time.sleep(0.1)
        flood_pubacked = parent.recv()
        proc.join()
        pub.close()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with lock:
                if len(committed) >= len(sent):
                    break
            time.sleep(0.1)
        with psycopg.connect(servers.database_url) as conn:
            # Every PUBACKed message ends as a stored reading or a rejected row with a reason;
            # wait until they add up (or 300 s), then count.
            while time.monotonic() < deadline:
                stored, rejected, doubled, quiet_stored = _counts(conn, flooder.device_id, quiet)
                if stored + rejected >= flood_pubacked:
                    break
                time.sleep(0.2)
            reasons = conn.execute(
                "SELECT left(reason, 12), count(*) FROM rejected_messages WHERE device_id = %s"
                " GROUP BY 1",  # rows
                (flooder.device_id,),
            ).fetchall()
        ingest.stop()
        delays = sorted(committed[k] - sent[k] for k in sent if k in committed)
        q = statistics.quantiles(delays, n=100) if len(delays) > 1 else delays * 99
        arrivals = sorted(received[k] - sent_wall[k] for k in sent if k in received)
        qa = statistics.quantiles(arrivals, n=100) if len(arrivals) > 1 else arrivals * 99
        print(
            json.dumps(
                {
                    "flood_attempted": args.flood,
                    "flood_pubacked": flood_pubacked,
                    "flood_stored": stored,
                    "flood_rejected": rejected,
                    "flood_rejected_rows": {str(k): int(v) for k, v in reasons},
                    "flood_lost": flood_pubacked - stored - rejected,
                    "flood_doubled": doubled,
                    "rate_per_s": args.rate,
                    "burst": args.burst,
                    "flood_duration_s": round(time.monotonic() - t_start, 1),
                    "quiet_sent": len(sent),
                    "quiet_stored": quiet_stored,
                    "quiet_seen_by_sink": len(delays),
                    "quiet_delay_p50_ms": round(q[49] * 1000, 1),
                    "quiet_delay_p99_ms": round(q[98] * 1000, 1),
                    "quiet_delay_max_ms": round(delays[-1] * 1000, 1),
                    # Publish to ingest's receipt: the part spent in the broker and its queue.
                    "quiet_arrival_p50_ms": round(qa[49] * 1000, 1),
                    "quiet_arrival_p99_ms": round(qa[98] * 1000, 1),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                }
            )
        )
    finally:
        servers.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
