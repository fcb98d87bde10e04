"""SQL of the home blood-pressure and heart-failure weight reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from vigil.core.metrics import Metric

Conn = psycopg.Connection[Any]


def blood_pressure(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime
) -> list[tuple[datetime, float, float]]:
    """(time, systolic, diastolic) of each cuff measurement in ``[start, end)``, time order: the
    two components a cuff sends together are stored as two readings of one device and time."""
    rows = conn.execute(
        "SELECT s.time, s.value, d.value FROM readings s JOIN readings d"
        " ON d.patient_id = s.patient_id AND d.device_id = s.device_id AND d.time = s.time"
        " AND d.metric = %(dia)s WHERE s.patient_id = %(patient)s AND s.metric = %(sys)s"
        " AND s.time >= %(start)s AND s.time < %(end)s ORDER BY s.time",
        {"patient": patient_id, "sys": Metric.BP_SYSTOLIC.value,
         "dia": Metric.BP_DIASTOLIC.value, "start": start, "end": end},
    ).fetchall()  # fmt: skip
    return [(r[0], float(r[1]), float(r[2])) for r in rows]


def weighings(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime
) -> list[tuple[datetime, float, str]]:
    """(time, kg, device) of each weighing in ``[start, end)``, time order."""
    rows = conn.execute(
        "SELECT time, value, device_id FROM readings WHERE patient_id = %s AND metric = %s"
        " AND time >= %s AND time < %s ORDER BY time",
        (patient_id, Metric.BODY_WEIGHT.value, start, end),
    ).fetchall()
    return [(r[0], float(r[1]), r[2]) for r in rows]


def alert_times(
    conn: Conn, *, patient_id: UUID, causes: list[str], start: datetime, end: datetime
) -> list[datetime]:
    """When the patient's alerts of ``causes`` (or that saw them) were first seen."""
    rows = conn.execute(
        "SELECT first_seen FROM alerts WHERE patient_id = %s AND (cause = ANY(%s)"
        " OR causes && %s::text[]) AND first_seen >= %s AND first_seen < %s ORDER BY first_seen",
        (patient_id, causes, causes, start, end),
    ).fetchall()
    return [r[0] for r in rows]
