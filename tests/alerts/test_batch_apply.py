"""A batch of findings applied at once does what the same findings applied one by one do, in a
number of statements that does not grow with the batch."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from tests.alerts.conftest import ago, finding
from vigil.alerts import CHANNEL, AlertService, Outcome, add_webhook, repo
from vigil.clinical.findings import Finding, Severity
from vigil.storage import admin

pytestmark = pytest.mark.integration
Conn = psycopg.Connection[Any]

SAME = (
    "cause",
    "causes",
    "state",
    "severity",
    "score",
    "finding_count",
    "first_seen",
    "last_seen",
    "last_value",
    "worst_value",
    "readings",
    "explanation",
    "escalation_level",
)
"""What must agree between the two ways (ids and clock times cannot)."""


def episode_findings(pid: uuid.UUID) -> list[Finding]:
    """Three episodes: a deterioration that changes cause and turns critical, a low that
    deepens, and a heart-failure alert resolved minutes ago (reopened)."""
    return [
        finding(pid, value=88, time=ago(minutes=9)),
        finding(pid, value=86, time=ago(minutes=8)),
        finding(pid, cause="fever", value=38.6, severity=Severity.WARNING, time=ago(minutes=7)),
        finding(pid, cause="news2", value=7, severity=Severity.CRITICAL, time=ago(minutes=6)),
        finding(pid, cause="hypoglycemia", value=62, time=ago(minutes=5), metrics=("glucose",)),
        finding(
            pid,
            cause="hypoglycemia_urgent",
            value=51,
            severity=Severity.CRITICAL,
            time=ago(minutes=4),
            metrics=("glucose",),
        ),
        finding(pid, cause="hypoglycemia", value=58, time=ago(minutes=3), metrics=("glucose",)),
        finding(pid, cause="hf_decompensation", value=2.4, time=ago(minutes=2)),
        finding(pid, cause="hf_decompensation", value=2.9, time=ago(minutes=1)),
    ]


def resolved_hf_alert(conn: Conn, svc: AlertService, pid: uuid.UUID, at: datetime) -> None:
    [opened] = svc.apply(conn, [finding(pid, cause="hf_decompensation", time=at)])
    svc.resolve(conn, alert_id=opened.alert_id, user_id=None, outcome=Outcome.ACTIONABLE)


def trail(conn: Conn, pid: uuid.UUID) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Per episode: the alert's fields and its events; the outbox rows, in order."""
    alerts = conn.execute(
        "SELECT id, episode FROM alerts WHERE patient_id = %s ORDER BY episode", (pid,)
    ).fetchall()
    rows = []
    for alert_id, episode in alerts:
        alert = repo.get_alert(conn, alert_id=alert_id)
        assert alert is not None
        events = [
            (e.kind, e.from_state, e.to_state, e.severity, e.note, _no_times(e.details))
            for e in repo.list_events(conn, alert_id=alert_id)
        ]
        rows.append((episode, tuple(getattr(alert, f) for f in SAME), events))
    outbox = conn.execute(
        "SELECT a.episode, o.kind, o.payload->'alert'->>'severity',"
        " o.payload->'alert'->>'explanation_ko', (SELECT count(*) FROM deliveries d"
        "  WHERE d.outbox_id = o.id)"
        " FROM outbox o JOIN alerts a ON a.id = o.alert_id WHERE a.patient_id = %s ORDER BY o.id",
        (pid,),
    ).fetchall()
    return rows, outbox


def _no_times(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k != "finding_time"}


def moved(findings: Sequence[Finding], pid: uuid.UUID) -> list[Finding]:
    return [replace(f, patient_id=pid) for f in findings]


def test_a_batch_does_what_the_findings_one_by_one_do(conn: Conn, db_url: str) -> None:
    tenant = admin.create_tenant(conn, name=f"batch-{uuid.uuid4().hex[:6]}")
    one, batch = (
        admin.create_patient(conn, tenant_id=tenant, display_name=n, conditions=["copd"])
        for n in ("One by one", "Batch")
    )
    add_webhook(
        conn, tenant_id=tenant, url="https://example.org/h", secret="s", level=0, min_severity=0
    )
    svc = AlertService()
    an_hour_ago = ago(hours=1)
    for pid in (one, batch):
        resolved_hf_alert(conn, svc, pid, an_hour_ago)
    findings = episode_findings(one)
    # The order a batch applies its findings in: by patient, cause, then time.
    singles = [
        c for f in sorted(findings, key=lambda f: (f.cause, f.time)) for c in svc.apply(conn, [f])
    ]

    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        together = svc.apply(conn, moved(findings, batch))
        expected = len({repr_json(c) for c in together})
        heard = list(listener.notifies(timeout=10, stop_after=expected))

    assert [c.kind for c in together] == [c.kind for c in singles]
    assert "reopened" in [c.kind for c in together]
    assert [(c.cause, c.state, c.severity, c.sentence_ko) for c in together] == [
        (c.cause, c.state, c.severity, c.sentence_ko) for c in singles
    ]
    (alerts, outbox), (expected_alerts, expected_outbox) = trail(conn, batch), trail(conn, one)
    assert len(alerts) == len(expected_alerts) == 3
    for (episode, fields, events), (want_episode, want_fields, want_events) in zip(
        alerts, expected_alerts, strict=True
    ):
        assert episode == want_episode
        for name, got, want in zip(SAME, fields, want_fields, strict=True):
            assert got == want, (episode, name)
        assert events == want_events, episode
    assert outbox == expected_outbox
    assert len(outbox) >= 4  # opened, raised, reopened: webhooks were queued
    # One NOTIFY per change, in order, delivered at commit (PostgreSQL folds a transaction's
    # identical payloads into one: two plain updates of one alert at one time).
    assert [n.payload for n in heard] == list(dict.fromkeys(repr_json(c) for c in together))


def repr_json(change: Any) -> str:
    return json.dumps(change.as_json())


class CountingCursor(psycopg.Cursor[Any]):
    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.statements += 1
        return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> None:
        CountingCursor.statements += 1  # one pipeline, whatever the number of rows
        super().executemany(*args, **kwargs)


def statements_for(db_url: str, findings: list[Finding]) -> int:
    with psycopg.connect(db_url, autocommit=True, cursor_factory=CountingCursor) as c:
        CountingCursor.statements = 0
        changes = AlertService().apply(c, findings)
        assert len(changes) == len(findings)
        return CountingCursor.statements


def patients(conn: Conn, n: int) -> list[uuid.UUID]:
    tenant = admin.create_tenant(conn, name=f"batch-{uuid.uuid4().hex[:6]}")
    return [
        admin.create_patient(conn, tenant_id=tenant, display_name=f"P{i}", conditions=["copd"])
        for i in range(n)
    ]


def test_statements_do_not_grow_with_the_batch(conn: Conn, db_url: str) -> None:
    small = [finding(p, time=ago(minutes=m)) for p in patients(conn, 2) for m in (3, 2)]
    large = [finding(p, time=ago(minutes=m)) for p in patients(conn, 40) for m in range(10, 0, -1)]
    # Opening: every alert new.
    opening = statements_for(db_url, small), statements_for(db_url, large)
    # Updating: the same patients again, every alert open.
    later = timedelta(minutes=20)
    updating = (
        statements_for(db_url, [finding(f.patient_id, time=f.time + later) for f in small]),
        statements_for(db_url, [finding(f.patient_id, time=f.time + later) for f in large]),
    )

    assert opening[0] == opening[1]
    assert updating[0] == updating[1]
    assert max(opening) <= 8
    # The steady state (every alert open): one statement locks them, one pipeline writes the
    # rows and the NOTIFYs (no statement for the tenants, none for missing data apart).
    assert max(updating) <= 3
    for pid in {f.patient_id for f in large}:
        [(count,)] = conn.execute(
            "SELECT finding_count FROM alerts WHERE patient_id = %s", (pid,)
        ).fetchall()
        assert count == 20


def test_an_alert_another_transaction_opened_is_updated_not_doubled(
    conn: Conn, db_url: str
) -> None:
    """Between a batch's look (no open alert) and its insert, another writer opens the same
    episode's alert: the insert yields nothing for it (the service then locks and updates that
    alert instead), and inserts the others."""
    a, b = patients(conn, 2)
    svc = AlertService()
    rows = [
        svc._new_values(finding(p), p, tenant)
        for p, tenant in ((a, _tenant(conn, a)), (b, _tenant(conn, b)))
    ]
    with psycopg.connect(db_url) as other:
        repo.insert_alerts(other, rows=rows[1:])
        other.commit()
    inserted = repo.insert_alerts(conn, rows=rows)
    assert [x is not None for x in inserted] == [True, False]

    # The next batch finds that alert and updates it: one alert holding both findings.
    [change] = svc.apply(conn, [finding(b, value=85)])
    [(alerts, findings)] = conn.execute(
        "SELECT count(*), sum(finding_count) FROM alerts WHERE patient_id = %s", (b,)
    ).fetchall()
    assert (change.kind, alerts, findings) == ("updated", 1, 2)


def _tenant(conn: Conn, pid: uuid.UUID) -> uuid.UUID:
    [(tenant,)] = conn.execute("SELECT tenant_id FROM patients WHERE id = %s", (pid,)).fetchall()
    return tenant  # type: ignore[no-any-return]
