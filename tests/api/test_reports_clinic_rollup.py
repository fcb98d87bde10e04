"""The clinic list's day rollups give the AGP's figures: for periods that start and end
mid-day, with gaps, a reading on each side of midnight, a day with one reading, a sensor that
stopped before the period's end, and after late readings and deletions in days already
rolled up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.api.conftest import World
from tests.api.test_reports_agp import END, START, agp, cgm_trace, insert
from vigil.storage import apply_retention

MEASURES = {  # the clinic list's field: the AGP's figure
    "readings": lambda a: a["readings"],
    "tir": lambda a: a["time_in_ranges"]["70_180"],
    "tbr": lambda a: a["time_in_ranges"]["below_54"] + a["time_in_ranges"]["54_69"],
    "tbr_54": lambda a: a["time_in_ranges"]["below_54"],
    "tar": lambda a: a["time_in_ranges"]["181_250"] + a["time_in_ranges"]["above_250"],
    "mean_mg_dl": lambda a: a["mean_mg_dl"],
    "gmi": lambda a: a["gmi_percent"],
    "cv": lambda a: a["cv_percent"],
    "active": lambda a: a["active_percent"],
}


def agree(client: httpx.Client, world: World, start: datetime, end: datetime) -> dict[str, Any]:
    """The clinician's clinic list row and the AGP of the same patient and period agree on
    every measure; returns the row."""
    period = {"start": start.isoformat(), "end": end.isoformat()}
    r = client.get("/api/v1/reports/clinic", params=period, headers=world.headers("clinician"))
    assert r.status_code == 200, r.text
    [row] = r.json()
    report = agp(client, world, world.a.patient, **period)
    for field, of in MEASURES.items():
        expected = of(report)
        if expected is None or field == "active":  # the AGP rounds wear to 0.01 %
            assert row[field] == (None if expected is None else pytest.approx(expected, abs=0.01))
        else:
            assert row[field] == pytest.approx(expected, rel=1e-9, abs=1e-12), field
    return row


def stored_days(world: World, patient: UUID) -> dict[object, int]:
    with world.conn() as conn:
        rows = conn.execute(
            "SELECT day, readings FROM glucose_day_rollups WHERE patient_id = %s", (patient,)
        ).fetchall()
    return {d: n for d, n in rows}


def test_rollups_agree_with_the_agp_and_follow_late_readings(
    world: World, client: httpx.Client
) -> None:
    rnd = random.Random(25)
    trace = cgm_trace(seed=3)
    kept = [p for i, p in enumerate(trace) if not 1000 <= i < 1100 and rnd.random() > 0.05]
    late = [p for p in trace if p not in kept]
    insert(world, world.a.patient, kept)
    periods = [(START, END), (START + timedelta(hours=5, minutes=37), END - timedelta(hours=3))]
    for _ in range(4):
        periods.append((START + timedelta(minutes=rnd.randrange(0, 7 * 1440)),
                        END - timedelta(minutes=rnd.randrange(0, 6 * 1440))))  # fmt: skip
    for start, end in periods:
        agree(client, world, start, end)
    before = stored_days(world, world.a.patient)
    assert len(before) >= 13  # the whole UTC days were rolled up and stored

    insert(world, world.a.patient, late)  # a backlog for days already rolled up
    for start, end in periods:
        row = agree(client, world, start, end)
    assert row["readings"] > 0
    assert sum(stored_days(world, world.a.patient).values()) > sum(before.values())
    with world.conn() as conn:
        gone = conn.execute(
            "DELETE FROM readings WHERE patient_id = %s AND time >= %s AND time < %s",
            (world.a.patient, START + timedelta(days=3, hours=23, minutes=50),
             START + timedelta(days=4, hours=0, minutes=20)),
        ).rowcount  # fmt: skip
    assert gone > 0
    for start, end in periods:
        agree(client, world, start, end)


def test_midnight_single_readings_and_a_sensor_stopped_before_the_end(
    world: World, client: httpx.Client
) -> None:
    day = datetime(2026, 11, 20, tzinfo=START.tzinfo)
    rows = [
        (day - timedelta(days=1, minutes=30), 150.0),
        (day - timedelta(minutes=2), 60.0),  # its span crosses midnight
        (day + timedelta(minutes=3), 190.0),
        (day + timedelta(hours=23, minutes=59), 50.0),  # a day with two readings
        (day + timedelta(days=1, hours=12), 260.0),  # a day with one reading
        (day + timedelta(days=3, minutes=1), 100.0),  # after the period below: not in it
    ]
    insert(world, world.a.patient, rows)
    for start, end in [
        (day - timedelta(days=2), day + timedelta(days=2, hours=6)),  # stopped a day before
        (day - timedelta(days=2), day + timedelta(days=3)),  # ends at midnight
        (day - timedelta(minutes=1), day + timedelta(minutes=10)),  # within a day's edges
        (day + timedelta(days=1, hours=1), day + timedelta(days=2)),  # one reading
    ]:
        agree(client, world, start, end)
    insert(world, world.a.patient, [(day + timedelta(days=1, hours=12, minutes=4), 65.0)])
    agree(client, world, day - timedelta(days=2), day + timedelta(days=2, hours=6))


def test_retention_drops_the_rollups_of_dropped_days(world: World) -> None:
    now = datetime.now(UTC)
    with world.conn() as conn:
        for age in (400, 200):
            conn.execute(
                "INSERT INTO glucose_day_rollups (patient_id, day, generation, ranges_key,"
                " readings, value_sum, value_sq_sum, covered_s, range_s)"
                " VALUES (%s, %s, 0, '', 0, 0, 0, 0, '{}')",
                (world.a.patient, (now - timedelta(days=age)).date()),
            )
        apply_retention(conn, days=300)
    assert list(stored_days(world, world.a.patient)) == [(now - timedelta(days=200)).date()]
