from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from vigil.core.errors import Conflict
from vigil.storage import admin, apply_retention, detect_timescale, migrate


def test_migrate_is_idempotent_and_readings_are_a_hypertable(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert migrate(conn) == []
        row = conn.execute(
            "SELECT count(*) FROM timescaledb_information.hypertables"
            " WHERE hypertable_name = 'reading_rows'"
        ).fetchone()
        assert row == (1,)


def test_license_is_detected(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        features = detect_timescale(conn)
    assert features.version.startswith("2.")
    assert features.license in {"apache", "timescale"}
    assert features.community == (features.license == "timescale")


def test_retention_drops_old_chunks_only(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        tenant = admin.create_tenant(conn, name="t")
        patient = admin.create_patient(conn, tenant_id=tenant, display_name="p", conditions=[])
        now = datetime.now(UTC)
        for age_days in (400, 200, 1):
            conn.execute(
                "INSERT INTO readings VALUES (%s, %s, 'spo2', 95, '%%', 'dev-1', now())",
                (now - timedelta(days=age_days), patient),
            )
        dropped = apply_retention(conn, days=300)
        ages = [
            r[0]
            for r in conn.execute(
                "SELECT round(extract(epoch FROM now() - time) / 86400)::int"
                " FROM readings ORDER BY time"
            )
        ]
    assert dropped == 1
    assert ages == [200, 1]


def test_device_cannot_have_overlapping_assignments(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant = admin.create_tenant(conn, name="t")
        p1 = admin.create_patient(conn, tenant_id=tenant, display_name="a", conditions=[])
        p2 = admin.create_patient(conn, tenant_id=tenant, display_name="b", conditions=[])
        creds = admin.provision_device(conn, tenant_id=tenant, kind="scale")
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        admin.assign_device(conn, device_id=creds.device_id, patient_id=p1, valid_from=t0)
        # Moving the device to another patient ends the first assignment at that time.
        admin.assign_device(
            conn, device_id=creds.device_id, patient_id=p2, valid_from=t0 + timedelta(days=10)
        )
        rows = conn.execute(
            "SELECT patient_id, upper(valid) FROM device_assignments ORDER BY lower(valid)"
        ).fetchall()
        assert rows == [(p1, t0 + timedelta(days=10)), (p2, None)]
        with pytest.raises(Conflict):
            admin.assign_device(
                conn, device_id=creds.device_id, patient_id=p1, valid_from=t0 + timedelta(days=5)
            )


def test_device_of_another_tenant_cannot_be_assigned(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        a = admin.create_tenant(conn, name="a")
        b = admin.create_tenant(conn, name="b")
        patient = admin.create_patient(conn, tenant_id=a, display_name="p", conditions=[])
        creds = admin.provision_device(conn, tenant_id=b, kind="scale")
        with pytest.raises(Conflict, match="different tenants"):
            admin.assign_device(
                conn, device_id=creds.device_id, patient_id=patient, valid_from=datetime.now(UTC)
            )


def test_device_password_is_stored_hashed(db_url: str) -> None:
    from vigil.servers import verify_password

    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant = admin.create_tenant(conn, name="t")
        creds = admin.provision_device(conn, tenant_id=tenant, kind="cgm", device_id="cgm-0001")
        row = conn.execute("SELECT mqtt_password_hash FROM devices").fetchone()
    assert row is not None
    assert creds.password not in row[0]
    assert verify_password(creds.password, row[0])
    assert creds.topic == "vigil/v1/devices/cgm-0001/readings"


def test_alerts_under_the_old_oxygen_and_fever_episodes_move_to_deterioration(
    db_url: str,
) -> None:
    """Migration 0031, run again over rows written under the old keys: a patient's most
    recently seen unresolved one moves (one unresolved alert per episode), resolved ones move,
    another patient's and other episodes' alerts stay."""
    from importlib import resources

    sql = (
        resources.files("vigil.storage") / "migrations" / "0031_deterioration_episode.sql"
    ).read_text(encoding="utf-8")
    with psycopg.connect(db_url) as conn:
        tenant = admin.create_tenant(conn, name="t")
        one = admin.create_patient(conn, tenant_id=tenant, display_name="a", conditions=[])
        two = admin.create_patient(conn, tenant_id=tenant, display_name="b", conditions=[])
        now = datetime.now(UTC)
        rows = [  # patient, episode, state, hours ago
            (one, "low_oxygen", "open", 3),
            (one, "fever", "acknowledged", 1),
            (one, "news2", "resolved", 30),
            (one, "low_glucose", "open", 2),
            (two, "low_oxygen", "open", 5),
        ]
        for patient, episode, state, hours in rows:
            conn.execute(
                "INSERT INTO alerts (tenant_id, patient_id, cause, detector, severity,"
                " first_seen, last_seen, explanation, episode, state, resolved_at)"
                " VALUES (%s, %s, %s, 'test', 2, %s, %s, '{}', %s, %s,"
                " CASE WHEN %s = 'resolved' THEN now() END)",
                (
                    tenant,
                    patient,
                    episode,
                    *(2 * [now - timedelta(hours=hours)]),
                    episode,
                    state,
                    state,
                ),
            )
        conn.execute(sql.encode())
        got = sorted(
            (str(r[0] == one), str(r[1]), str(r[2]))
            for r in conn.execute("SELECT patient_id, cause, episode FROM alerts")
        )
    assert got == [
        ("False", "low_oxygen", "deterioration"),
        ("True", "fever", "deterioration"),
        ("True", "low_glucose", "low_glucose"),
        ("True", "low_oxygen", "low_oxygen"),
        ("True", "news2", "deterioration"),
    ]
