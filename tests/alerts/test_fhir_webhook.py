"""A destination chosen to receive FHIR gets the alert as a DetectedIssue; the others keep
Vigil's JSON. Real database, real HTTP receiver, the structural models of fhir.resources."""

from __future__ import annotations

import json
import uuid
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.alerts.receiver import Receiver
from tests.fhir.validation import assert_valid_r4b
from vigil.alerts import AlertService, DestinationPolicy, WebhookDispatcher, repo, sign
from vigil.clinical.findings import Severity

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[Any]
LOCAL = DestinationPolicy(allow_http=True, allow_loopback=True)


def test_each_destination_gets_the_alert_in_its_own_format(
    conn: Conn, patient: tuple[uuid.UUID, uuid.UUID]
) -> None:
    tenant, pid = patient
    with Receiver() as plain, Receiver() as emr:
        repo.add_webhook(conn, tenant_id=tenant, url=plain.url, secret="k1", level=0,
                         min_severity=0)  # fmt: skip
        repo.add_webhook(conn, tenant_id=tenant, url=emr.url, secret="k2", level=0,
                         min_severity=0, payload_format="fhir")  # fmt: skip
        dispatcher = WebhookDispatcher(destinations=LOCAL)
        [opened] = AlertService().apply(conn, [finding(pid, severity=Severity.CRITICAL)])
        assert dispatcher.dispatch_due(conn) == 2
        dispatcher.close()
    [(plain_headers, plain_body)] = plain.received
    assert plain_headers["Content-Type"] == "application/json"
    assert plain_body["alert"]["id"] == str(opened.alert_id)
    [(headers, issue)] = emr.received
    assert headers["Content-Type"] == "application/fhir+json"
    body = json.dumps(issue, separators=(",", ":")).encode()
    assert headers["X-Vigil-Signature"] == sign("k2", body)
    assert_valid_r4b(issue)
    assert issue["resourceType"] == "DetectedIssue"
    assert issue["id"] == str(opened.alert_id)
    assert issue["patient"] == {"reference": f"Patient/{pid}"}
    assert (issue["severity"], issue["status"]) == ("high", "preliminary")
    assert issue["detail"] == "SpO2 88 % is below 90 %"
    assert issue["meta"]["tag"][0]["code"] == "opened"
    assert headers["Idempotency-Key"] != plain_headers["Idempotency-Key"]
