"""A short simulated run through the real broker and ingest: every intact reading is stored,
every malformed message is in rejected_messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Harness
from tests.waiting import wait_for
from vigil.device_sim import AdminProvisioner, enrol, expected_counts, generate, publish
from vigil.ingest import Ingest

pytestmark = pytest.mark.integration


def test_a_simulated_run_is_stored_or_rejected_exactly(harness: Harness) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    out = generate("stress", patients=6, days=3, seed=8, start=start)
    provisioner = AdminProvisioner(harness.db_url, harness.broker.root)
    try:
        enrolment = enrol(provisioner, out, run_id="t1")
    finally:
        provisioner.close()
    ingest = Ingest(harness.settings(), database_url=harness.db_url, mqtt=harness.ingest_target)
    ingest.start()
    try:
        assert ingest.transport.subscribed.wait(10)
        report = publish(
            out, enrolment.devices, host="127.0.0.1", port=harness.broker.port, speed=None
        )
        assert report.unacknowledged == 0
        expected = expected_counts(out)
        assert expected["malformed_messages"] > 0
        tenant_readings = (
            "SELECT count(*) FROM readings r JOIN patients p ON p.id = r.patient_id"
            " WHERE p.tenant_id = %s"
        )
        # Every published message taken by ingest (stored or rejected, and committed), so the
        # counts below are final: a doubled reading would show as too many.
        wait_for(
            lambda: (
                ingest.service.stats.messages >= report.messages
                and harness.count(tenant_readings, enrolment.tenant_id) >= expected["stored_rows"]
            ),
            "every message ingested",
        )
        assert harness.count(tenant_readings, enrolment.tenant_id) == expected["stored_rows"]
        rejected = harness.count(
            "SELECT count(*) FROM rejected_messages WHERE device_id LIKE 't1-%%'"
        )
        assert rejected == expected["malformed_messages"]
    finally:
        ingest.stop()
