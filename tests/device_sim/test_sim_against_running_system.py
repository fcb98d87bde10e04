"""The issue's bar, as stated: `vigil sim --scenario standard --patients 50 --days 7
--speed 10000` against the running system (every stage) stores every reading that was not
deliberately malformed, and every malformed message is in rejected_messages.

The simulator's own code path is used (enrolment through the administrator's calls, one MQTT
client per device), with the history ending as publishing ends, exactly as the command does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import Harness
from tests.waiting import wait_for
from vigil.device_sim import AdminProvisioner, enrol, expected_counts, generate, publish
from vigil.device_sim.cli import live_start
from vigil.serve import running_stages

pytestmark = pytest.mark.slow


def test_standard_50_patients_7_days_at_speed_10000(harness: Harness) -> None:
    speed = 10_000.0
    out = generate(
        "standard", 50, 7, seed=3, start=live_start(datetime.now(UTC), days=7, speed=speed)
    )
    expected = expected_counts(out)
    with running_stages(harness.settings()) as running:
        assert running.ingest.transport.subscribed.wait(10)
        provisioner = AdminProvisioner(harness.db_url, harness.broker.root)
        try:
            enrolment = enrol(provisioner, out, run_id="e2e50")
        finally:
            provisioner.close()
        report = publish(
            out, enrolment.devices, host="127.0.0.1", port=harness.broker.port, speed=speed
        )
        assert report.unacknowledged == 0
        stored_sql = (
            "SELECT count(*) FROM readings r JOIN patients p ON p.id = r.patient_id"
            " WHERE p.tenant_id = %s"
        )
        wait_for(
            lambda: (
                running.ingest.service.stats.messages >= report.messages
                and harness.count(stored_sql, enrolment.tenant_id) >= expected["stored_rows"]
            ),
            "every message ingested",
            timeout=120,
        )
        stored = harness.count(stored_sql, enrolment.tenant_id)
        rejected = harness.count(
            "SELECT count(*) FROM rejected_messages WHERE device_id LIKE 'e2e50-%%'"
        )
    print(  # the figures, with `pytest -s` or -rA
        f"\nsim standard 50x7 @10000: messages={report.messages} in {report.seconds:.0f} s, "
        f"stored={stored}/{expected['stored_rows']}, "
        f"rejected={rejected}/{expected['malformed_messages']} malformed"
    )
    assert stored == expected["stored_rows"]
    assert rejected == expected["malformed_messages"]
    assert expected["malformed_messages"] > 0
