"""Streaming's SQL: care plans and the history that rebuilds detector state after a restart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from vigil.clinical.careplan import CarePlan
from vigil.core.errors import VigilError
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading

Conn = psycopg.Connection[Any]


_PLANS = (
    "SELECT p.id, p.conditions, c.thresholds, c.targets, c.insulin FROM patients p"
    " LEFT JOIN care_plans c ON c.patient_id = p.id"
)
"""Each patient's conditions and stored plan: the defaults for the conditions, overridden by
the plan (patients without a stored plan get the defaults)."""


def _plans(conn: Conn, where: str, params: tuple[Any, ...]) -> dict[UUID, CarePlan]:
    rows = conn.execute(f"{_PLANS} {where}", params).fetchall()
    return {r[0]: CarePlan.from_stored(set(r[1] or ()), r[2], r[3], r[4]) for r in rows}


def load_care_plan(conn: Conn, *, patient_id: UUID) -> CarePlan:
    """The patient's plan: defaults for their conditions, overridden by the stored care plan."""
    return _plans(conn, "WHERE p.id = %s", (patient_id,)).get(patient_id, CarePlan())


def load_care_plans(conn: Conn) -> dict[UUID, CarePlan]:
    """Every patient's plan in one query (what :func:`load_care_plan` gives one by one)."""
    return _plans(conn, "", ())


def care_plans_changed_since(conn: Conn, *, since: datetime) -> list[tuple[UUID, CarePlan]]:
    """The plans stored or changed after ``since``."""
    return list(_plans(conn, "WHERE c.updated_at > %s", (since,)).items())


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


def load_progress(
    conn: Conn, *, stream: str, partitions: list[int]
) -> dict[int, tuple[int, datetime]]:
    """Per partition, the last applied stream sequence and its stream time."""
    rows = conn.execute(
        "SELECT partition, last_seq, last_time FROM detect_progress"
        " WHERE stream = %s AND partition = ANY(%s)",
        (stream, partitions),
    ).fetchall()
    return {int(p): (int(s), t) for p, s, t in rows}


class ProgressMoved(VigilError):
    """Another worker applied one of these partitions since this one read its progress: what
    this worker was about to commit is not its to commit (the transaction rolls back)."""

    def __init__(self, partitions: list[int]) -> None:
        super().__init__(f"progress of partitions {partitions} moved under this worker")
        self.partitions = partitions


_RECORD_PROGRESS = """
WITH v AS (
    SELECT * FROM unnest(%(partitions)s::int[], %(seqs)s::bigint[], %(times)s::timestamptz[],
                         %(before)s::bigint[]) AS v(partition, seq, t, before)
), moved AS (
    UPDATE detect_progress d SET last_seq = v.seq, last_time = v.t, updated_at = now()
    FROM v WHERE v.before > 0 AND d.stream = %(stream)s AND d.partition = v.partition
    AND d.last_seq = v.before
    RETURNING d.partition
), created AS (
    INSERT INTO detect_progress (stream, partition, last_seq, last_time)
    SELECT %(stream)s, v.partition, v.seq, v.t FROM v WHERE v.before = 0 ORDER BY v.partition
    ON CONFLICT (stream, partition) DO NOTHING
    RETURNING partition
)
SELECT partition FROM moved UNION ALL SELECT partition FROM created
"""


def record_progress(
    conn: Conn,
    *,
    stream: str,
    applied: dict[int, tuple[int, datetime]],
    expected: dict[int, int],
) -> None:
    """Advance each partition's progress from the sequence this worker read (``expected``,
    0: no row yet) to the new one: a compare-and-set per partition, in one statement whatever
    the number of partitions (one round trip), in the caller's transaction. Raises
    :class:`ProgressMoved` (so the transaction, findings and alert changes with it, is rolled
    back) when another worker moved any of them meanwhile."""
    if not applied:
        return
    order = sorted(applied)
    rows = conn.execute(
        _RECORD_PROGRESS,
        {
            "stream": stream,
            "partitions": order,
            "seqs": [applied[p][0] for p in order],
            "times": [applied[p][1] for p in order],
            "before": [expected.get(p, 0) for p in order],
        },
    ).fetchall()
    done = {int(r[0]) for r in rows}
    moved = [p for p in order if p not in done]
    if moved:
        raise ProgressMoved(moved)


def check_progress(conn: Conn, *, stream: str, expected: dict[int, int]) -> None:
    """Hold the partitions' progress rows (until the caller's transaction ends) and check that
    they are still what this worker read: the fence for what a worker commits without moving
    progress (the missing-data clock's findings)."""
    if not expected:
        return
    rows = conn.execute(
        "SELECT partition, last_seq FROM detect_progress WHERE stream = %s"
        " AND partition = ANY(%s) FOR UPDATE",
        (stream, sorted(expected)),
    ).fetchall()
    have = {int(p): int(s) for p, s in rows}
    moved = [p for p, seq in sorted(expected.items()) if have.get(p, 0) != seq]
    if moved:
        raise ProgressMoved(moved)
