"""Idempotency after a device moves to another patient: storage keeps a reading once per
(patient, metric, time, device) (migration 0180), and that is once per (device, metric, time)
because the patient is the one the device's assignment named at the reading's time. A replay
after the device moved still meets its stored reading; an assignment that would re-label an
already stored reading is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from tests.conftest import Harness
from tests.waiting import wait_for

from vigil.core.errors import Conflict
from vigil.ingest import DevicePublisher, Ingest
from vigil.storage import admin


@pytest.fixture
def ingest(harness: Harness) -> Iterator[Ingest]:
    running = Ingest(harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target,
                     sink=lambda batch: None)  # fmt: skip
    running.start()
    assert running.transport.subscribed.wait(10), "ingest never subscribed"
    yield running
    running.stop()


def _counts(harness: Harness, device_id: str) -> dict[str, int]:
    with psycopg.connect(harness.db_url) as conn:
        rows = conn.execute(
            "SELECT p.display_name, count(*) FROM readings r JOIN patients p"
            " ON p.id = r.patient_id WHERE r.device_id = %s GROUP BY 1",
            (device_id,),
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


def test_a_replay_after_the_device_moved_is_not_stored_again(
    harness: Harness, ingest: Ingest
) -> None:
    first, creds = harness.patient_with_device()
    with psycopg.connect(harness.db_url) as conn:
        conn.execute("UPDATE patients SET display_name = 'first' WHERE id = %s", (first,))
        second = admin.create_patient(
            conn, tenant_id=harness.tenant_id, display_name="second", conditions=[]
        )
    t = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    body = json.dumps({"readings": [{"ts": t.isoformat(), "metric": "spo2", "value": 95,
                                     "unit": "%"}]}).encode()  # fmt: skip
    pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
    pub.connect()
    pub.publish(body).wait_for_publish(5)
    wait_for(lambda: ingest.service.stats.messages >= 1, "the reading ingested")
    assert _counts(harness, creds.device_id) == {"first": 1}

    # Re-labelling the stored reading (an assignment from before it) is refused...
    with psycopg.connect(harness.db_url) as conn:
        with pytest.raises(Conflict, match="readings stored for its current patient"):
            admin.assign_device(conn, device_id=creds.device_id, patient_id=second,
                                valid_from=t - timedelta(minutes=1))  # fmt: skip
        conn.rollback()
        # ...moving it from after the reading is not.
        admin.assign_device(conn, device_id=creds.device_id, patient_id=second,
                            valid_from=t + timedelta(minutes=1))  # fmt: skip
        conn.commit()

    # The device sends its backlog again (it lost its acknowledgements), and a new reading.
    later = {"ts": (t + timedelta(minutes=2)).isoformat(), "metric": "spo2", "value": 93,
             "unit": "%"}  # fmt: skip
    pub.publish(body).wait_for_publish(5)
    pub.publish(json.dumps({"readings": [later]}).encode()).wait_for_publish(5)
    pub.close()
    wait_for(lambda: ingest.service.stats.messages >= 3, "3 messages ingested")
    # Attempted 3, stored 2, doubled 0: the replay meets the first patient's reading.
    assert _counts(harness, creds.device_id) == {"first": 1, "second": 1}
    assert harness.count("SELECT count(*) FROM readings WHERE device_id = %s", creds.device_id) == 2
