"""Streaming's SQL: care plans and the history that rebuilds detector state after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.streaming.careplan import CarePlan

Conn = psycopg.Connection[Any]


def load_care_plan(conn: Conn, *, patient_id: UUID) -> CarePlan:
    """The patient's plan: defaults for their conditions, overridden by the stored care plan."""
    row = conn.execute(
        "SELECT p.conditions, c.thresholds, c.targets FROM patients p"
        " LEFT JOIN care_plans c ON c.patient_id = p.id WHERE p.id = %s",
        (patient_id,),
    ).fetchone()
    if row is None:
        return CarePlan()
    return CarePlan.from_stored(set(row[0] or ()), row[1], row[2])


def load_care_plans(conn: Conn) -> dict[UUID, CarePlan]:
    """Every patient's plan in one query (what :func:`load_care_plan` gives one by one)."""
    rows = conn.execute(
        "SELECT p.id, p.conditions, c.thresholds, c.targets FROM patients p"
        " LEFT JOIN care_plans c ON c.patient_id = p.id"
    ).fetchall()
    return {r[0]: CarePlan.from_stored(set(r[1] or ()), r[2], r[3]) for r in rows}


def care_plans_changed_since(conn: Conn, *, since: datetime) -> list[tuple[UUID, CarePlan]]:
    rows = conn.execute(
        "SELECT p.id, p.conditions, c.thresholds, c.targets FROM care_plans c"
        " JOIN patients p ON p.id = c.patient_id WHERE c.updated_at > %s",
        (since,),
    ).fetchall()
    return [(r[0], CarePlan.from_stored(set(r[1] or ()), r[2], r[3])) for r in rows]


def history(conn: Conn, *, since: datetime) -> Iterator[StoredReading]:
    """Stored readings since ``since``, per patient in time order (a server-side cursor)."""
    with conn.cursor(name="vigil_history") as cur:
        cur.itersize = 5000
        cur.execute(
            "SELECT time, patient_id, metric, value, device_id, received_at FROM readings"
            " WHERE time >= %s ORDER BY patient_id, time, metric",
            (since,),
        )
        for t, p, m, v, d, rc in cur:
            yield StoredReading(t, p, Metric(m), v, d, rc)
