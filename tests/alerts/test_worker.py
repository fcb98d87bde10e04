"""The background worker: escalation is not held up by a slow webhook receiver."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.alerts.receiver import Receiver
from vigil.alerts import (
    AlertPolicy,
    AlertService,
    AlertWorker,
    DestinationPolicy,
    DispatchPolicy,
    WebhookDispatcher,
    add_webhook,
    list_events,
)
from vigil.clinical.findings import Severity

pytestmark = pytest.mark.integration


def test_escalation_runs_while_a_receiver_hangs(
    db_url: str, conn: psycopg.Connection[Any], patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    service = AlertService(AlertPolicy(escalate_after=timedelta(seconds=0.3)))
    with Receiver() as rx:
        rx.delay_s = 3.0
        add_webhook(conn, tenant_id=tenant, url=rx.url, secret="k", level=0, min_severity=0)
        worker = AlertWorker(
            database_url=db_url,
            tick=service.tick,
            dispatcher=WebhookDispatcher(
                policy=DispatchPolicy(timeout_s=5),
                destinations=DestinationPolicy(allow_http=True, allow_loopback=True),
            ),
            interval_s=0.05,
        )
        worker.start()
        try:
            [opened] = service.apply(conn, [finding(pid, severity=Severity.CRITICAL)])
            deadline = time.monotonic() + 2.0
            while "escalated" not in [e.kind for e in list_events(conn, alert_id=opened.alert_id)]:
                assert time.monotonic() < deadline, "escalation waited for the slow receiver"
                time.sleep(0.05)
            assert rx.received == []  # the first delivery is still in flight
        finally:
            rx.delay_s = 0.0
            worker.stop()
    assert worker.errors == 0
