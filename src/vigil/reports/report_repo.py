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
