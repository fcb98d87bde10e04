"""SQL of the coaching module: a patient's readings and targets in, feed items out."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from vigil.coaching.models import FeedItem, Point

Conn = psycopg.Connection[Any]


def patient_points(conn: Conn, *, patient_id: UUID, start: datetime, end: datetime) -> list[Point]:
    """The patient's readings in ``[start, end]`` (served by the readings' patient index)."""
    rows = conn.execute(
        "SELECT time, metric, value FROM readings"
        " WHERE patient_id = %s AND time >= %s AND time <= %s ORDER BY time",
        (patient_id, start, end),
    ).fetchall()
    return [Point(r[0], r[1], r[2]) for r in rows]


def patient_profile(conn: Conn, *, patient_id: UUID) -> tuple[frozenset[str], dict[str, Any]]:
    """The patient's conditions and their care plan's targets (``{}`` without a plan)."""
    row = conn.execute(
        "SELECT p.conditions, cp.targets FROM patients p"
        " LEFT JOIN care_plans cp ON cp.patient_id = p.id WHERE p.id = %s",
        (patient_id,),
    ).fetchone()
    if row is None:
        return frozenset(), {}
    return frozenset(row[0] or ()), dict(row[1] or {})


def store_feed_items(conn: Conn, *, patient_id: UUID, items: list[FeedItem]) -> None:
    """Write the items; an item with a key already stored is rewritten (a week's summary
    changes as the week fills in)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO feed_items (patient_id, key, kind, time, title, body, tone, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (patient_id, key) DO UPDATE SET time = EXCLUDED.time,"
            " title = EXCLUDED.title, body = EXCLUDED.body, tone = EXCLUDED.tone,"
            " data = EXCLUDED.data, updated_at = now()",
            [
                (patient_id, i.key, i.kind, i.time, i.title, i.body, i.tone, Jsonb(i.data))
                for i in items
            ],
        )


def list_feed_items(conn: Conn, *, patient_id: UUID, limit: int = 50) -> list[dict[str, Any]]:
    """The patient's feed, newest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT key, kind, time, title, body, tone, data FROM feed_items"
            " WHERE patient_id = %s ORDER BY time DESC, key LIMIT %s",
            (patient_id, limit),
        ).fetchall()


def latest_values(conn: Conn, *, patient_id: UUID) -> dict[str, tuple[datetime, float, Any]]:
    """Each metric's latest value as ingest keeps it: metric -> (time, value, censored)."""
    rows = conn.execute(
        "SELECT metric, time, value, censored FROM latest_readings WHERE patient_id = %s",
        (patient_id,),
    ).fetchall()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def care_team_replies(conn: Conn, *, patient_id: UUID, causes: list[str]) -> dict[str, datetime]:
    """Per alert cause, the last time the care team acknowledged or resolved an alert that
    had seen it (an alert's episode gathers causes: a low that became urgent)."""
    rows = conn.execute(
        "SELECT c, max(greatest(a.acknowledged_at, a.resolved_at)) FROM alerts a,"
        " unnest(a.causes || a.cause) AS c WHERE a.patient_id = %s AND c = ANY(%s)"
        " AND (a.acknowledged_at IS NOT NULL OR a.resolved_at IS NOT NULL) GROUP BY c",
        (patient_id, causes),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def care_plan_instructions(conn: Conn, *, patient_id: UUID) -> dict[str, dict[str, str]]:
    """The care team's own instruction per kind and language (``{}`` without one)."""
    row = conn.execute(
        "SELECT instructions FROM care_plans WHERE patient_id = %s", (patient_id,)
    ).fetchone()
    return dict(row[0]) if row else {}


def put_care_plan_instructions(
    conn: Conn, *, patient_id: UUID, instructions: dict[str, dict[str, str]], user_id: UUID
) -> None:
    """Replace the care team's instructions (a plan is created, empty otherwise, if none)."""
    conn.execute(
        "INSERT INTO care_plans (patient_id, instructions, updated_by) VALUES (%s, %s, %s)"
        " ON CONFLICT (patient_id) DO UPDATE SET instructions = EXCLUDED.instructions,"
        " updated_at = now(), updated_by = EXCLUDED.updated_by",
        (patient_id, Jsonb(instructions), user_id),
    )
