"""The one clinical urgency order of alerts, shared by the inbox and triage.

Tier first: an urgent low (glucose below 54 mg/dL) and a hypertensive crisis come before any
other alert whatever their severities say; then severity, most severe first; then the
most recently changed. Written once, as SQL for the queries and as a key for Python.

>>> from datetime import UTC, datetime
>>> t = datetime(2026, 1, 1, tzinfo=UTC)
>>> rows = [("bp_above_target", 3, t), ("hypoglycemia_urgent", 2, t), ("spo2_low", 3, t)]
>>> [r[0] for r in sorted(rows, key=lambda r: urgency_key(*r))]
['hypoglycemia_urgent', 'bp_above_target', 'spo2_low']
"""

from __future__ import annotations

from datetime import datetime

from psycopg import sql

FIRST_CAUSES = ("hypoglycemia_urgent", "hypertensive_crisis")
"""Emergencies: treated now, before every other alert."""


def tier(cause: str) -> int:
    return 0 if cause in FIRST_CAUSES else 1


def urgency_key(cause: str, severity: int, updated_at: datetime) -> tuple[int, int, float]:
    """Sort key: smaller is more urgent (ties then break on the id, as the SQL does)."""
    return (tier(cause), -severity, -updated_at.timestamp())


def urgency_order(alias: str) -> sql.Composable:
    """``ORDER BY`` terms for table alias ``alias`` (the same order as ``urgency_key``)."""
    a = sql.Identifier(alias)
    causes = sql.SQL(", ").join(sql.Literal(c) for c in FIRST_CAUSES)
    return sql.SQL(
        "(CASE WHEN {a}.cause IN ({causes}) THEN 0 ELSE 1 END), {a}.severity DESC,"
        " {a}.updated_at DESC, {a}.id"
    ).format(a=a, causes=causes)
