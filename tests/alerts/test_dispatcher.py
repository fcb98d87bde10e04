"""Outbox and webhook dispatch against the real database and a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.alerts.receiver import Receiver
from vigil.alerts import (
    AlertService,
    DeliveryState,
    DestinationPolicy,
    DispatchPolicy,
    Outcome,
    WebhookDispatcher,
    repo,
    sign,
)
from vigil.clinical.findings import Severity

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[Any]
LOCAL = DestinationPolicy(allow_http=True, allow_loopback=True)
"""The receiver is on this machine, over http (the default refuses both: test_destinations)."""


def test_one_delivery_then_retry_after_failure_then_dead(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    svc = AlertService()
    with Receiver() as rx:
        repo.add_webhook(conn, tenant_id=tenant, url=rx.url, secret="k", level=0, min_severity=0)
        dispatcher = WebhookDispatcher(
            policy=DispatchPolicy(max_attempts=2, backoff_base_s=60), destinations=LOCAL
        )
        [opened] = svc.apply(conn, [finding(pid, severity=Severity.HIGH)])
        svc.apply(conn, [finding(pid, severity=Severity.HIGH)])  # an update: no notification
        assert dispatcher.dispatch_due(conn) == 1
        assert dispatcher.dispatch_due(conn) == 0
        [(headers, body)] = rx.received
        assert body["event"] == "opened"
        assert body["alert"]["id"] == str(opened.alert_id)
        assert body["alert"]["explanation"] == "SpO2 88 % is below 90 %"
        raw = headers["Idempotency-Key"]
        assert uuid.UUID(raw)

        # A severity rise is notified; the receiver fails once; the retry is delivered.
        rx.fail_next = 1
        svc.apply(conn, [finding(pid, severity=Severity.CRITICAL, value=80)])
        assert dispatcher.dispatch_due(conn) == 1
        assert len(rx.received) == 1
        [pending] = repo.list_deliveries(conn, tenant_id=tenant, state=DeliveryState.PENDING)
        assert (pending.attempts, pending.last_status) == (1, 503)
        later = datetime.now(UTC) + timedelta(minutes=2)
        assert dispatcher.dispatch_due(conn, now=later) == 1
        assert len(rx.received) == 2
        assert rx.received[1][0]["Idempotency-Key"] == str(pending.idempotency_key)
        assert rx.received[1][1]["event"] == "severity_raised"

        # A receiver that keeps failing: after the last attempt the delivery is dead.
        rx.fail_next = 10
        svc.resolve(conn, alert_id=opened.alert_id, user_id=None, outcome=Outcome.ACTIONABLE)
        conn.execute("UPDATE alerts SET resolved_at = now() - interval '1 day'")
        svc.apply(conn, [finding(pid, severity=Severity.HIGH)])
        assert dispatcher.dispatch_due(conn) == 1
        assert dispatcher.dispatch_due(conn, now=later + timedelta(minutes=5)) == 1
        [dead] = repo.list_deliveries(conn, tenant_id=tenant, state=DeliveryState.DEAD)
        assert dead.attempts == 2
        assert dead.last_error == "HTTP 503"
        dispatcher.close()


def test_signature_is_hmac_of_the_body() -> None:
    expected = hmac.new(b"k", b"{}", hashlib.sha256).hexdigest()
    assert sign("k", b"{}") == f"sha256={expected}"


def test_unreachable_receiver_is_retried_not_raised(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    repo.add_webhook(
        conn, tenant_id=tenant, url="http://127.0.0.1:9/none", secret="k", level=0, min_severity=0
    )
    AlertService().apply(conn, [finding(pid)])
    dispatcher = WebhookDispatcher(policy=DispatchPolicy(timeout_s=1), destinations=LOCAL)
    assert dispatcher.dispatch_due(conn) == 1
    [pending] = repo.list_deliveries(conn, tenant_id=tenant)
    assert pending.state is DeliveryState.PENDING
    assert pending.last_error
    assert "ConnectError" in pending.last_error
    dispatcher.close()
