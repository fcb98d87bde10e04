"""The reports' part of `vigil bench api`: every bench patient gets ``days`` of 5-minute CGM
(built in the database with ``generate_series``: 1,000 patients x 14 days is 4 million rows),
then the clinic list (an administrator's: every patient of the tenant) and single patients'
AGPs are timed, each from few clients (a clinician opening a page, not a flood)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from vigil.api import repo
from vigil.api.access import Role
from vigil.api.security import hash_password, new_token, token_digest
from vigil.core.metrics import Metric
from vigil.storage import reading_series_keys

CGM_STEP = timedelta(minutes=5)


def load_cgm(url: str, *, patient: str, days: int) -> dict[str, Any]:
    """Add ``days`` of 5-minute CGM up to now for every patient of ``patient``'s tenant (a
    daily swing, each patient's own phase, noise; clipped to a CGM's 40-400 mg/dL), and an
    administrator's token for the clinic list."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT tenant_id FROM patients WHERE id = %s", (patient,)).fetchone()
        assert row is not None
        tenant: UUID = row[0]
        started = time.perf_counter()
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM patients WHERE tenant_id = %s", (tenant,)).fetchall()]  # fmt: skip
        series = reading_series_keys(
            conn, series=[(p, Metric.GLUCOSE, f"cgm-{str(p)[:8]}") for p in ids]
        )
        # Straight into the hypertable by its keys (set-based; the readings view's rule looks
        # the keys up a row at a time).
        cur = conn.execute(
            "INSERT INTO reading_rows (time, received_at, series, value)"
            " SELECT t, t, k.series, least(400, greatest(40, round(140 + 60 * sin("
            "   extract(epoch FROM t) / 13751.0 + (hashtext(k.id::text) %% 7))"
            "   + 40 * (random() - 0.5))))"
            " FROM unnest(%(ids)s::uuid[], %(series)s::int[]) AS k(id, series),"
            " generate_series(%(start)s::timestamptz, %(end)s, %(step)s) t",
            {"start": now - timedelta(days=days), "end": now, "step": CGM_STEP, "ids": ids,
             "series": [series[(p, Metric.GLUCOSE, f"cgm-{str(p)[:8]}")] for p in ids]},
        )  # fmt: skip
        rows = cur.rowcount
        admin = repo.create_user(
            conn,
            tenant_id=tenant,
            email=f"admin-{time.time_ns()}@bench.example",
            display_name="Bench admin",
            role=Role.ADMIN,
            password_hash=hash_password(new_token()),
        )
        token = new_token()
        repo.store_token(
            conn, digest=token_digest(token), user_id=admin, expires_at=now + timedelta(days=1)
        )
        conn.commit()
        load_s = time.perf_counter() - started
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE reading_rows")
    return {"admin_token": token, "cgm_readings": rows, "cgm_load_s": round(load_s, 1)}


def report_paths(patients: list[str]) -> dict[str, list[str]]:
    """What is timed: the clinic list (the last 14 days of every patient) and one patient's
    AGP (the last 14 days)."""
    return {
        "clinic_list_14d": ["/api/v1/reports/clinic"],
        "agp_14d": [f"/api/v1/patients/{p}/reports/agp" for p in patients],
    }
