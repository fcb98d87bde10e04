"""refresh_feed against the real database: readings and care plan in, stored items out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from vigil.coaching import list_feed_items, refresh_feed
from vigil.storage import admin


def test_refresh_feed_stores_items_once_per_key_and_rewrites_the_week(db_url: str) -> None:
    # Midday, so that "five minutes later" is the same day (the streak's key is per day).
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    with psycopg.connect(db_url, autocommit=True) as conn:
        tenant = admin.create_tenant(conn, name="Clinic")
        patient = admin.create_patient(
            conn, tenant_id=tenant, display_name="P", conditions=["hypertension"]
        )
        for d in range(4):
            for metric, value in (("bp_systolic", 138), ("bp_diastolic", 82)):
                conn.execute(
                    "INSERT INTO readings VALUES (%s, %s, %s, %s, 'mm[Hg]', 'bp-1', now())",
                    (now - timedelta(days=d, hours=1), patient, metric, value),
                )
        conn.execute(
            "INSERT INTO care_plans (patient_id, targets) VALUES (%s, %s)",
            (patient, '{"bp_systolic": {"high": 140}}'),
        )

        items = refresh_feed(conn, patient_id=patient, now=now)
        assert {i.kind for i in items} == {"bp_week", "streak"}
        refresh_feed(conn, patient_id=patient, now=now + timedelta(minutes=5))
        stored = list_feed_items(conn, patient_id=patient)
        assert len(stored) == 2
        bp = next(r for r in stored if r["kind"] == "bp_week")
        # The plan's 140 replaces the default 135; diastolic keeps the default 85.
        assert bp["tone"] == "good"
        assert "under 140/85" in bp["body"]
        assert bp["time"] == now + timedelta(minutes=5)
        assert bp["data"]["systolic"] == 138
