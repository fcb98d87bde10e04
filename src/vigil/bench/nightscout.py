"""`vigil bench nightscout`: an xDrip+-shaped backlog through the Nightscout API, end to end.

One patient's phone uploads 14 days of 5-minute CGM (4,032 entries) as xDrip+ sends a backlog:
arrays of up to 300 entries (its upload queue's batch), gzip bodies, the ``api-secret`` header,
``+0900`` dateStrings. Each 200 comes after the readings are committed and handed to the
readings stream, so the seconds are the whole path an uploader waits for. Then the same
backlog once more (a phone that lost its acknowledgements): it must add nothing.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from vigil.api import create_app
from vigil.api.serving import ThreadedServer
from vigil.device_sim.nightscout import XDRIP_BATCH, enrol_phone_patient, upload, xdrip_backlog
from vigil.servers import Servers, start_servers
from vigil.settings import Settings
from vigil.storage import admin, create_pool, migrate, nightscout
from vigil.stream import StreamPublisher, connect_stream


def run_bench(
    settings: Settings, *, days: int = 14, servers: Servers | None = None
) -> dict[str, Any]:
    """The upload on ``servers`` (embedded ones in a temporary folder if not given)."""
    own = servers is None
    if servers is None:
        tmp = Path(tempfile.mkdtemp(prefix="vigil-ns-bench-"))
        tmp.chmod(0o755)
        settings = settings.model_copy(update={"state_dir": tmp})
        servers = start_servers(settings)
    stream = None
    try:
        with psycopg.connect(servers.database_url) as conn:
            migrate(conn)
            tenant = admin.create_tenant(conn, name=f"ns-bench-{time.time_ns()}")
            conn.commit()
        patient, issued = enrol_phone_patient(
            servers.database_url, tenant_id=tenant, name="xDrip+ backlog", days=days
        )
        stream = connect_stream(settings, servers.nats_url, name="bench-nightscout")
        pool = create_pool(servers.database_url, min_size=1, max_size=4)
        app = create_app(settings, pool, readings_sink=StreamPublisher(stream).publish)
        entries = xdrip_backlog(datetime.now(UTC).replace(second=0, microsecond=0), days=days)
        with ThreadedServer(app) as base, httpx.Client(timeout=120) as api:
            site = nightscout.site_answer(base, issued)
            url = f"{site['url']}/api/v1/entries"
            started = time.perf_counter()
            rejected = upload(api, url, site["api_secret"], entries)
            seconds = time.perf_counter() - started
            again_started = time.perf_counter()
            rejected_again = upload(api, url, site["api_secret"], entries)
            again_seconds = time.perf_counter() - again_started
        with psycopg.connect(servers.database_url) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT time) FROM readings"
                " WHERE patient_id = %s AND metric = 'glucose'",
                (patient,),
            ).fetchone()
        assert row is not None
        stored, distinct = int(row[0]), int(row[1])
        sent = len(entries)
        return {
            "entries": sent,
            "batches": -(-sent // XDRIP_BATCH),
            "seconds": round(seconds, 2),
            "entries_per_s": round(sent / seconds),
            "stored": stored,
            "rejected": rejected,
            "lost": sent - rejected - distinct,
            "doubled": stored - distinct,
            "repeat_seconds": round(again_seconds, 2),
            "repeat_rejected": rejected_again,
        }
    finally:
        if stream is not None:
            stream.close()
        if own:
            servers.close()
