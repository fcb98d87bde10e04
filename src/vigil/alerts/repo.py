"""The alerts package's SQL: plain functions, keyword-only arguments, a connection first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil.alerts.models import (
    MISSING_DATA_DETECTOR,
    Alert,
    AlertEvent,
    AlertState,
    Delivery,
    DeliveryState,
    Outcome,
)
from vigil.clinical.findings import Severity

Conn = psycopg.Connection[Any]

ALERT_COLUMNS = sql.SQL(
    "id, tenant_id, patient_id, cause, metrics, detector, state, severity, score, finding_count,"
    " first_seen, last_seen, last_value, explanation, data_age_s, opened_at, updated_at,"
    " acknowledged_at, acknowledged_by, snoozed_until, resolved_at, resolved_by, outcome,"
    " escalation_level, escalate_at, episode, causes, worst_value, readings"
)
_ALERTS_WHERE = sql.SQL("SELECT {} FROM alerts WHERE ").format(ALERT_COLUMNS)


def alert_from_row(row: dict[str, Any]) -> Alert:
    return Alert(
        id=row["id"],
        tenant_id=row["tenant_id"],
        patient_id=row["patient_id"],
        cause=row["cause"],
        metrics=tuple(row["metrics"]),
        detector=row["detector"],
        state=AlertState(row["state"]),
        severity=Severity(row["severity"]),
        score=row["score"],
        finding_count=row["finding_count"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        last_value=row["last_value"],
        explanation=row["explanation"],
        data_age_s=row["data_age_s"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        snoozed_until=row["snoozed_until"],
        resolved_at=row["resolved_at"],
        resolved_by=row["resolved_by"],
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        escalation_level=row["escalation_level"],
        escalate_at=row["escalate_at"],
        episode=row["episode"],
        causes=tuple(row["causes"]),
        worst_value=row["worst_value"],
        readings=row["readings"] or {},
    )


def patient_tenants(conn: Conn, *, patient_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    rows = conn.execute(
        "SELECT id, tenant_id FROM patients WHERE id = ANY(%s)", (list(patient_ids),)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _one(
    conn: Conn, query: sql.SQL | sql.Composed, params: Sequence[Any] | dict[str, Any]
) -> Alert | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, params).fetchone()
    return alert_from_row(row) if row else None


def _all(
    conn: Conn, query: sql.SQL | sql.Composed, params: Sequence[Any] | dict[str, Any]
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def lock_unresolved(conn: Conn, *, patient_id: UUID, episode: str) -> Alert | None:
    return _one(
        conn,
        _ALERTS_WHERE
        + sql.SQL("patient_id = %s AND episode = %s AND state <> 'resolved' FOR UPDATE"),
        (patient_id, episode),
    )


def lock_recently_resolved(
    conn: Conn, *, patient_id: UUID, episode: str, since: datetime
) -> Alert | None:
    return _one(
        conn,
        _ALERTS_WHERE
        + sql.SQL(
            "patient_id = %s AND episode = %s AND state = 'resolved' AND resolved_at >= %s"
            " AND outcome <> 'answered_by_data' ORDER BY resolved_at DESC LIMIT 1 FOR UPDATE"
        ),
        (patient_id, episode, since),
    )


def lock_unresolved_many(
    conn: Conn, *, keys: Sequence[tuple[UUID, str]]
) -> dict[tuple[UUID, str], Alert]:
    """The unresolved alerts of these (patient, episode) pairs, locked in one statement (in
    key order, so two transactions never wait on each other crosswise)."""
    rows = _all(
        conn,
        _ALERTS_WHERE
        + sql.SQL(
            "(patient_id, episode) IN (SELECT * FROM unnest(%s::uuid[], %s::text[]))"
            " AND state <> 'resolved' ORDER BY patient_id, episode FOR UPDATE"
        ),
        ([k[0] for k in keys], [k[1] for k in keys]),
    )
    return {(r["patient_id"], r["episode"]): alert_from_row(r) for r in rows}


def lock_for_findings(
    conn: Conn, *, keys: Sequence[tuple[UUID, str]], readers: Sequence[UUID]
) -> tuple[dict[tuple[UUID, str], Alert], list[Alert]]:
    """What a batch of findings and readings locks, in one statement (in key order): the
    unresolved alerts of these (patient, episode) pairs (:func:`lock_unresolved_many`), and
    the unresolved missing-data alerts of the patients who sent ``readers``' readings
    (:func:`unresolved_missing_data`). An alert may be in both."""
    if not keys and not readers:
        return {}, []
    patients = sorted({k[0] for k in keys} | set(readers), key=str)
    rows = _all(
        conn,
        _ALERTS_WHERE
        + sql.SQL(
            "patient_id = ANY(%(patients)s) AND state <> 'resolved' AND ("
            " (patient_id, episode) IN (SELECT * FROM unnest(%(ids)s::uuid[], %(eps)s::text[]))"
            " OR (patient_id = ANY(%(readers)s)"
            "     AND (detector = %(detector)s OR cause LIKE 'missing\\_data%%')))"
            " ORDER BY patient_id, episode FOR UPDATE"
        ),
        {
            "patients": patients,
            "ids": [k[0] for k in keys],
            "eps": [k[1] for k in keys],
            "readers": list(readers),
            "detector": MISSING_DATA_DETECTOR,
        },
    )
    wanted, reading = set(keys), set(readers)
    alerts = [alert_from_row(r) for r in rows]
    unresolved = {
        (a.patient_id, a.episode): a for a in alerts if (a.patient_id, a.episode) in wanted
    }
    missing = [
        a
        for a in alerts
        if a.patient_id in reading
        and (a.detector == MISSING_DATA_DETECTOR or a.cause.startswith("missing_data"))
    ]
    return unresolved, missing


def lock_recently_resolved_many(
    conn: Conn, *, keys: Sequence[tuple[UUID, str]], since: datetime
) -> dict[tuple[UUID, str], Alert]:
    """:func:`lock_recently_resolved` for many (patient, episode) pairs in one statement."""
    rows = _all(
        conn,
        sql.SQL(
            "SELECT a.* FROM unnest(%s::uuid[], %s::text[]) AS k(patient_id, episode)"
            " CROSS JOIN LATERAL (SELECT {} FROM alerts"
            "  WHERE patient_id = k.patient_id AND episode = k.episode"
            "  AND state = 'resolved' AND resolved_at >= %s"
            "  AND outcome <> 'answered_by_data' ORDER BY resolved_at DESC LIMIT 1"
            "  FOR UPDATE) a ORDER BY k.patient_id, k.episode"
        ).format(ALERT_COLUMNS),
        ([k[0] for k in keys], [k[1] for k in keys], since),
    )
    return {(r["patient_id"], r["episode"]): alert_from_row(r) for r in rows}


def insert_alerts(conn: Conn, *, rows: Sequence[dict[str, Any]]) -> list[Alert | None]:
    """:func:`insert_alert` for many alerts (the same keys in each) in one pipeline."""
    if not rows:
        return []
    params = [
        {**r, "explanation": Jsonb(r["explanation"]), "readings": Jsonb(r["readings"])}
        for r in rows
    ]
    query = sql.SQL(
        "INSERT INTO alerts ({}) VALUES ({})"
        " ON CONFLICT (patient_id, episode) WHERE state <> 'resolved' DO NOTHING RETURNING {}"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, rows[0])),
        sql.SQL(", ").join(map(sql.Placeholder, rows[0])),
        ALERT_COLUMNS,
    )
    inserted: list[Alert | None] = []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.executemany(query, params, returning=True)
        while True:
            row = cur.fetchone()
            inserted.append(alert_from_row(row) if row else None)
            if not cur.nextset():
                break
    return inserted


FINDING_COLUMNS = (
    "state",
    "resolved_at",
    "resolved_by",
    "outcome",
    "acknowledged_at",
    "acknowledged_by",
    "snoozed_until",
    "finding_count",
    "first_seen",
    "last_seen",
    "last_value",
    "score",
    "data_age_s",
    "severity",
    "explanation",
    "escalate_at",
    "cause",
    "causes",
    "worst_value",
    "readings",
)
"""The columns findings change (:meth:`vigil.alerts.AlertService.apply`)."""


def update_alerts(conn: Conn, *, alerts: Sequence[Alert]) -> None:
    """Write the finding columns of these alerts, as held in memory, in one pipeline."""
    if not alerts:
        return
    sets = [
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c)) for c in FINDING_COLUMNS
    ]
    query = sql.SQL("UPDATE alerts SET {}, updated_at = now() WHERE id = %(id)s").format(
        sql.SQL(", ").join(sets)
    )
    params = []
    for a in alerts:
        row = {c: getattr(a, c) for c in FINDING_COLUMNS}
        row.update(
            id=a.id,
            severity=int(a.severity),
            explanation=Jsonb(a.explanation),
            readings=Jsonb(a.readings),
            causes=list(a.causes),
        )
        params.append(row)
    conn.cursor().executemany(query, params)


def seen_quiet_since(
    conn: Conn,
    *,
    before: datetime,
    critical_seen_before: datetime | None = None,
    limit: int = 100,
) -> list[Alert]:
    """Acknowledged or snoozed alerts (not about missing data) with no finding since
    ``before``: candidates for the end of their episode; a critical one only if it was seen
    (acknowledged, else last acted on) before ``critical_seen_before``."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _ALERTS_WHERE
            + sql.SQL(
                "state IN ('acknowledged', 'snoozed') AND last_seen <= %s AND detector <> %s"
                " AND cause NOT LIKE 'missing\\_data%%'"
                " AND (%s::timestamptz IS NULL OR severity < %s"
                "  OR coalesce(acknowledged_at, updated_at) <= %s)"
                " ORDER BY last_seen LIMIT %s FOR UPDATE SKIP LOCKED"
            ),
            (
                before,
                MISSING_DATA_DETECTOR,
                critical_seen_before,
                int(Severity.CRITICAL),
                critical_seen_before,
                limit,
            ),
        ).fetchall()
    return [alert_from_row(r) for r in rows]


def lock_alert(conn: Conn, *, alert_id: UUID) -> Alert | None:
    return _one(conn, _ALERTS_WHERE + sql.SQL("id = %s FOR UPDATE"), (alert_id,))


def get_alert(conn: Conn, *, alert_id: UUID) -> Alert | None:
    return _one(conn, _ALERTS_WHERE + sql.SQL("id = %s"), (alert_id,))


def insert_alert(conn: Conn, *, values: dict[str, Any]) -> Alert | None:
    """Insert an open alert; None if another transaction opened one for this episode first."""
    values = {**values, "explanation": Jsonb(values["explanation"])}
    if "readings" in values:
        values["readings"] = Jsonb(values["readings"])
    query = sql.SQL(
        "INSERT INTO alerts ({}) VALUES ({})"
        " ON CONFLICT (patient_id, episode) WHERE state <> 'resolved' DO NOTHING RETURNING {}"
    ).format(
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(map(sql.Placeholder, values)),
        ALERT_COLUMNS,
    )
    return _one(conn, query, values)


def update_alert(conn: Conn, *, alert_id: UUID, values: dict[str, Any]) -> Alert:
    if "explanation" in values:
        values = {**values, "explanation": Jsonb(values["explanation"])}
    if "readings" in values:
        values = {**values, "readings": Jsonb(values["readings"])}
    sets: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
    ]
    sets.append(sql.SQL("updated_at = now()"))
    query = sql.SQL("UPDATE alerts SET {} WHERE id = %(_id)s RETURNING {}").format(
        sql.SQL(", ").join(sets), ALERT_COLUMNS
    )
    alert = _one(conn, query, {**values, "_id": alert_id})
    assert alert is not None
    return alert


def insert_event(
    conn: Conn,
    *,
    alert_id: UUID,
    kind: str,
    actor_user_id: UUID | None = None,
    from_state: AlertState | None = None,
    to_state: AlertState | None = None,
    severity: Severity | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        _INSERT_EVENT,
        _event_row(
            {
                "alert_id": alert_id,
                "kind": kind,
                "actor_user_id": actor_user_id,
                "from_state": from_state,
                "to_state": to_state,
                "severity": severity,
                "note": note,
                "details": details,
            }
        ),
    )


_INSERT_EVENT = (
    "INSERT INTO alert_events"
    " (alert_id, kind, actor_user_id, from_state, to_state, severity, note, details)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


def _event_row(event: dict[str, Any]) -> tuple[Any, ...]:
    """:func:`insert_event`'s keyword arguments (only ``alert_id`` and ``kind`` required) as the
    statement's parameters."""
    severity = event.get("severity")
    return (
        event["alert_id"],
        event["kind"],
        event.get("actor_user_id"),
        event.get("from_state"),
        event.get("to_state"),
        int(severity) if severity is not None else None,
        event.get("note"),
        Jsonb(event.get("details") or {}),
    )


def insert_events(conn: Conn, *, events: Sequence[dict[str, Any]]) -> None:
    """:func:`insert_event` for many events (each its keyword arguments), in order."""
    if events:
        conn.cursor().executemany(_INSERT_EVENT, [_event_row(e) for e in events])


def list_events(
    conn: Conn, *, alert_id: UUID, limit: int | None = None, after_id: int = 0
) -> list[AlertEvent]:
    """The alert's events in order; ``limit`` of them after the event ``after_id``."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT id, alert_id, at, kind, actor_user_id, from_state, to_state, severity,"
            " note, details FROM alert_events WHERE alert_id = %s AND id > %s ORDER BY id"
            " LIMIT %s",
            (alert_id, after_id, limit),
        ).fetchall()
    return [
        AlertEvent(
            id=r["id"],
            alert_id=r["alert_id"],
            at=r["at"],
            kind=r["kind"],
            actor_user_id=r["actor_user_id"],
            from_state=AlertState(r["from_state"]) if r["from_state"] else None,
            to_state=AlertState(r["to_state"]) if r["to_state"] else None,
            severity=Severity(r["severity"]) if r["severity"] is not None else None,
            note=r["note"],
            details=r["details"],
        )
        for r in rows
    ]


def enqueue_notification(
    conn: Conn,
    *,
    tenant_id: UUID,
    alert_id: UUID,
    kind: str,
    level: int,
    severity: Severity,
    payload: dict[str, Any],
) -> int:
    """Write an outbox row and one pending delivery per matching webhook; returns deliveries."""
    row = conn.execute(
        _ENQUEUE,
        _notification_row(
            {
                "tenant_id": tenant_id,
                "alert_id": alert_id,
                "kind": kind,
                "level": level,
                "severity": severity,
                "payload": payload,
            }
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


_ENQUEUE = (
    "WITH o AS (INSERT INTO outbox (tenant_id, alert_id, kind, payload)"
    "  VALUES (%(tenant)s, %(alert)s, %(kind)s, %(payload)s) RETURNING id),"
    " d AS (INSERT INTO deliveries (outbox_id, webhook_id)"
    "  SELECT o.id, w.id FROM o, webhooks w WHERE w.tenant_id = %(tenant)s AND w.active"
    "  AND w.level = %(level)s AND w.min_severity <= %(severity)s RETURNING 1)"
    " SELECT count(*) FROM d"
)


def _notification_row(n: dict[str, Any]) -> dict[str, Any]:
    """:func:`enqueue_notification`'s keyword arguments as the statement's parameters."""
    return {
        "tenant": n["tenant_id"],
        "alert": n["alert_id"],
        "kind": n["kind"],
        "payload": Jsonb(n["payload"]),
        "level": n["level"],
        "severity": int(n["severity"]),
    }


def enqueue_notifications(conn: Conn, *, notifications: Sequence[dict[str, Any]]) -> None:
    """:func:`enqueue_notification` for many (each its keyword arguments), in order."""
    if notifications:
        conn.cursor().executemany(_ENQUEUE, [_notification_row(n) for n in notifications])


def notify_change(conn: Conn, *, channel: str, payload: str) -> None:
    """Queued by PostgreSQL and delivered to listeners only when the transaction commits."""
    conn.execute("SELECT pg_notify(%s, %s)", (channel, payload))


def notify_changes(conn: Conn, *, channel: str, payloads: Sequence[str]) -> None:
    """:func:`notify_change` for many payloads, in order, in one pipeline."""
    if payloads:
        conn.cursor().executemany("SELECT pg_notify(%s, %s)", [(channel, p) for p in payloads])


def due_for_escalation(conn: Conn, *, now: datetime, limit: int = 100) -> list[UUID]:
    rows = conn.execute(
        "SELECT id FROM alerts WHERE escalate_at <= %s AND state = 'open'"
        " ORDER BY escalate_at LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    ).fetchall()
    return [r[0] for r in rows]


def due_to_wake(conn: Conn, *, now: datetime, limit: int = 100) -> list[UUID]:
    rows = conn.execute(
        "SELECT id FROM alerts WHERE state = 'snoozed' AND snoozed_until <= %s"
        " ORDER BY snoozed_until LIMIT %s FOR UPDATE SKIP LOCKED",
        (now, limit),
    ).fetchall()
    return [r[0] for r in rows]


def unresolved_missing_data(conn: Conn, *, patient_ids: Sequence[UUID]) -> list[Alert]:
    """Unresolved alerts about data that did not arrive: raised by the missing-data detector
    (``missed_measurements``, ``device_silent``) or with a ``missing_data...`` cause."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _ALERTS_WHERE
            + sql.SQL(
                "patient_id = ANY(%s) AND state <> 'resolved'"
                " AND (detector = %s OR cause LIKE 'missing\\_data%%') FOR UPDATE"
            ),
            (list(patient_ids), MISSING_DATA_DETECTOR),
        ).fetchall()
    return [alert_from_row(r) for r in rows]


# -- deliveries ------------------------------------------------------------------------------

DELIVERY_COLUMNS = sql.SQL(
    "d.id, d.outbox_id, d.webhook_id, o.alert_id, o.kind, d.idempotency_key, d.state,"
    " d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_at"
)


def delivery_from_row(r: dict[str, Any]) -> Delivery:
    return Delivery(
        id=r["id"],
        outbox_id=r["outbox_id"],
        webhook_id=r["webhook_id"],
        alert_id=r["alert_id"],
        kind=r["kind"],
        idempotency_key=r["idempotency_key"],
        state=DeliveryState(r["state"]),
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        last_status=r["last_status"],
        last_error=r["last_error"],
        delivered_at=r["delivered_at"],
        created_at=r["created_at"],
    )


def claim_deliveries(
    conn: Conn, *, now: datetime, lease: timedelta, limit: int
) -> list[dict[str, Any]]:
    """Lease due deliveries (attempts + 1, retry after the lease if the dispatcher dies)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "WITH due AS (SELECT id FROM deliveries WHERE state = 'pending'"
            "  AND next_attempt_at <= %(now)s ORDER BY next_attempt_at LIMIT %(limit)s"
            "  FOR UPDATE SKIP LOCKED)"
            " UPDATE deliveries d SET attempts = d.attempts + 1,"
            "  next_attempt_at = %(now)s + %(lease)s"
            " FROM due, outbox o, webhooks w"
            " WHERE d.id = due.id AND o.id = d.outbox_id AND w.id = d.webhook_id"
            " RETURNING d.id, d.attempts, d.idempotency_key, o.payload, o.kind, w.url, w.secret,"
            " w.payload_format",
            {"now": now, "lease": lease, "limit": limit},
        ).fetchall()


def mark_delivered(conn: Conn, *, delivery_id: int, status: int, now: datetime) -> None:
    conn.execute(
        "UPDATE deliveries SET state = 'delivered', last_status = %s, last_error = NULL,"
        " delivered_at = %s WHERE id = %s",
        (status, now, delivery_id),
    )


def mark_failed(
    conn: Conn,
    *,
    delivery_id: int,
    status: int | None,
    error: str,
    retry_at: datetime | None,
) -> None:
    """Schedule a retry at ``retry_at``, or mark the delivery dead when it is None."""
    conn.execute(
        "UPDATE deliveries SET last_status = %s, last_error = %s,"
        " state = CASE WHEN %s::timestamptz IS NULL THEN 'dead' ELSE 'pending' END,"
        " next_attempt_at = coalesce(%s, next_attempt_at) WHERE id = %s",
        (status, error[:1000], retry_at, retry_at, delivery_id),
    )


def list_deliveries(
    conn: Conn,
    *,
    tenant_id: UUID,
    state: DeliveryState | None = None,
    alert_id: UUID | None = None,
    limit: int = 100,
) -> list[Delivery]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            sql.SQL("SELECT {} FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE").format(
                DELIVERY_COLUMNS
            )
            + sql.SQL(
                " o.tenant_id = %s AND (%s::text IS NULL OR d.state = %s)"
                " AND (%s::uuid IS NULL OR o.alert_id = %s) ORDER BY d.id DESC LIMIT %s"
            ),
            (tenant_id, state, state, alert_id, alert_id, limit),
        ).fetchall()
    return [delivery_from_row(r) for r in rows]


def add_webhook(
    conn: Conn,
    *,
    tenant_id: UUID,
    url: str,
    secret: str,
    level: int,
    min_severity: int,
    payload_format: str = "vigil",
) -> UUID:
    row = conn.execute(
        "INSERT INTO webhooks (tenant_id, url, secret, level, min_severity, payload_format)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (tenant_id, url, secret, level, min_severity, payload_format),
    ).fetchone()
    assert row is not None
    value: UUID = row[0]
    return value
