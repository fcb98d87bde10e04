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
        cur = conn.execute(
            "INSERT INTO readings (time, patient_id, metric, value, unit, device_id, received_at)"
            " SELECT t, p.id, %(metric)s, least(400, greatest(40, round(140 + 60 * sin("
            "   extract(epoch FROM t) / 13751.0 + (hashtext(p.id::text) %% 7))"
            "   + 40 * (random() - 0.5)))), 'mg/dL', 'cgm-' || left(p.id::text, 8), t"
            " FROM patients p, generate_series(%(start)s::timestamptz, %(end)s, %(step)s) t"
            " WHERE p.tenant_id = %(tenant)s",
            {"metric": Metric.GLUCOSE.value, "start": now - timedelta(days=days), "end": now,
             "step": CGM_STEP, "tenant": tenant},
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
        conn.execute("VACUUM ANALYZE readings")
    return {"admin_token": token, "cgm_readings": rows, "cgm_load_s": round(load_s, 1)}


def report_paths(patients: list[str]) -> dict[str, list[str]]:
    """What is timed: the clinic list (the last 14 days of every patient) and one patient's
    AGP (the last 14 days)."""
    return {
        "clinic_list_14d": ["/api/v1/reports/clinic"],
        "agp_14d": [f"/api/v1/patients/{p}/reports/agp" for p in patients],
    }
