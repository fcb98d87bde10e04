"""The live engine against the database: care plans as stored, for restored and new patients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from vigil.clinical.careplan import CarePlan
from vigil.storage import admin
from vigil.streaming.live import LiveEngine


def test_restored_and_new_patients_get_their_stored_plans(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant = admin.create_tenant(conn, name="Clinic")
        measured = admin.create_patient(
            conn, tenant_id=tenant, display_name="Measured", conditions=["copd"]
        )
        silent = admin.create_patient(
            conn, tenant_id=tenant, display_name="Silent", conditions=["heart_failure"]
        )
        for patient, thresholds in ((measured, {"spo2": {"low": 92}}), (silent, {})):
            conn.execute(
                "INSERT INTO care_plans (patient_id, targets, thresholds) VALUES (%s, %s, %s)",
                (patient, Jsonb({}), Jsonb(thresholds)),
            )
        at = datetime.now(UTC) - timedelta(hours=1)
        conn.execute(
            "INSERT INTO readings (time, patient_id, metric, value, unit, device_id, received_at)"
            " VALUES (%s, %s, 'spo2', 95, '%%', 'oxi-1', %s)",
            (at, measured, at),
        )
    live = LiveEngine(db_url)
    try:
        # Restored from history with the plan loaded for the whole restore in one query ...
        assert live.engine.patients[measured].plan == CarePlan.from_stored(
            {"copd"}, {"spo2": {"low": 92}}, {}
        )
        # ... and a patient first seen later is still loaded from the database.
        assert silent not in live.engine.patients
        assert live.engine._state(silent).plan == CarePlan.from_stored({"heart_failure"}, {}, {})
    finally:
        live.close()
