"""The clinic list's day and hour rollups give the AGP's figures: for periods that start and
end mid-day and mid-hour or on an hour, with gaps, a reading on each side of midnight and of
an hour, a day with one reading, a sensor that stopped before the period's end, and after late
readings and deletions in days and hours already rolled up; and every write to the readings
bumps the generations of the days and hours it touched, once per statement."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
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


def generations(world: World, patient: UUID) -> dict[date, tuple[int, list[int]]]:
    """Each day's generation and its hours' entries."""
    with world.conn() as conn:
        rows = conn.execute(
            "SELECT day, generation, hour_generations FROM glucose_day_generations"
            " WHERE patient_id = %s",
            (patient,),
        ).fetchall()
    return {d: (g, list(h)) for d, g, h in rows}


def marks(**hours: int) -> list[int]:
    """24 hour entries, 0 but for ``h<hour>=<generation>``."""
    out = [0] * 24
    for key, gen in hours.items():
        out[int(key[1:])] = gen
    return out


def stored_hours(world: World, patient: UUID) -> dict[datetime, tuple[int, str]]:
    """Each stored hour row's readings and row version (xmin: changes when recomputed)."""
    with world.conn() as conn:
        rows = conn.execute(
            "SELECT hour, readings, xmin::text FROM glucose_hour_rollups WHERE patient_id = %s",
            (patient,),
        ).fetchall()
    return {h: (n, x) for h, n, x in rows}


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
    kept_hour = (now - timedelta(days=200)).replace(minute=0, second=0, microsecond=0)
    with world.conn() as conn:
        for age in (400, 200):
            conn.execute(
                "INSERT INTO glucose_day_rollups (patient_id, day, generation, ranges_key,"
                " readings, value_sum, value_sq_sum, covered_s, range_s)"
                " VALUES (%s, %s, 0, '', 0, 0, 0, 0, '{}')",
                (world.a.patient, (now - timedelta(days=age)).date()),
            )
            conn.execute(
                "INSERT INTO glucose_hour_rollups (patient_id, hour, generation, ranges_hash,"
                " readings, value_sum, value_sq_sum, covered_s, range_s)"
                " VALUES (%s, %s, 0, 0, 0, 0, 0, 0, '{}')",
                (world.a.patient, kept_hour - timedelta(days=age - 200)),
            )
        apply_retention(conn, days=300)
    assert list(stored_days(world, world.a.patient)) == [(now - timedelta(days=200)).date()]
    assert list(stored_hours(world, world.a.patient)) == [kept_hour]


def test_hour_rollups_agree_at_hour_edges_and_follow_a_late_reading(
    world: World, client: httpx.Client
) -> None:
    trace = cgm_trace(seed=11)  # a reading on every hour (START is on one)
    head = START + timedelta(hours=7, minutes=20)  # in the period's partial first day
    tail = END - timedelta(hours=5, minutes=40)  # in its partial last day
    late = [p for p in trace if p[0] in (head, tail, head + timedelta(hours=3))]
    insert(world, world.a.patient, [p for p in trace if p not in late])
    default = (START + timedelta(hours=5, minutes=37), END - timedelta(hours=2, minutes=13))
    periods = [
        default,
        (START + timedelta(hours=6), END - timedelta(hours=2)),  # on hours: nothing live
        (START + timedelta(hours=6), END - timedelta(hours=2, seconds=1)),  # a second short
        (START + timedelta(hours=6, seconds=1), END - timedelta(hours=2)),
        (head - timedelta(minutes=10), head + timedelta(minutes=25)),  # across an hour
        (head + timedelta(minutes=5), head + timedelta(minutes=35)),  # within one
        (head - timedelta(minutes=30), head + timedelta(hours=2, minutes=5)),  # whole hours
        (head + timedelta(hours=2), head + timedelta(days=1, hours=20)),  # no whole day
        (tail - timedelta(days=1, hours=3), END),
    ]
    for start, end in periods:
        agree(client, world, start, end)
    agree(client, world, *default)
    before = stored_hours(world, world.a.patient)
    whole_hours = [START + timedelta(hours=h) for h in (6, 7, 8)]  # to the first midnight
    whole_hours += [END - timedelta(hours=15 - h) for h in range(12)]  # from the last one
    assert set(whole_hours) <= set(before)  # the partial days' whole hours were stored

    insert(world, world.a.patient, late[:1])  # late into an hour rolled up
    with world.conn() as conn:
        [(h,)] = conn.execute("SELECT date_trunc('hour', %s::timestamptz, 'UTC')", (head,))
    agree(client, world, *default)
    after = stored_hours(world, world.a.patient)
    assert after[h][0] == before[h][0] + 1  # that hour recomputed with the reading
    assert after[h][1] != before[h][1]
    assert {k: v for k, v in after.items() if k != h} == {
        k: v for k, v in before.items() if k != h
    }  # the other hours were not recomputed
    insert(world, world.a.patient, late[1:])
    with world.conn() as conn:
        moved = conn.execute(
            "UPDATE readings SET time = time + interval '62 minutes 30 seconds'"
            " WHERE patient_id = %s"
            " AND time = %s",
            (world.a.patient, tail - timedelta(hours=1)),
        ).rowcount
        gone = conn.execute(
            "DELETE FROM readings WHERE patient_id = %s AND time >= %s AND time < %s",
            (world.a.patient, head + timedelta(minutes=25), head + timedelta(minutes=35)),
        ).rowcount  # fmt: skip
    assert (moved, gone) == (1, 2)
    for start, end in periods:
        agree(client, world, start, end)


def test_generations_follow_every_write_once_per_statement(world: World) -> None:
    p = world.a.patient
    day = datetime(2026, 11, 20, tzinfo=UTC)
    d0, d1 = day.date(), (day + timedelta(days=1)).date()
    hour = timedelta(hours=1)
    insert(world, p, [(day + hour, 100.0), (day + hour * 1.5, 110.0), (day + hour * 2, 120.0)])
    assert generations(world, p) == {d0: (1, marks(h1=1, h2=1))}  # COPY: one bump

    def execute(*statements: tuple[str, tuple[object, ...]]) -> list[int]:
        with world.conn() as conn, conn.transaction():
            return [conn.execute(q, args).rowcount for q, args in statements]

    # as ingest writes: into the readings' hypertable (the view takes no ON CONFLICT)
    add = (
        "INSERT INTO reading_rows (time, series, value, received_at)"
        " SELECT %s, reading_series_key(%s, m.metric, m.unit, %s), %s, now()"
        " FROM reading_metrics m WHERE m.metric = %s ON CONFLICT DO NOTHING"
    )
    cgm = f"cgm-{p.hex[:8]}"
    assert execute((add, (day + hour * 3, p, cgm, 90.0, "glucose")),
                   (add, (day + hour * 29, p, cgm, 95.0, "glucose")),
                   (add, (day + hour * 4, p, cgm, 85.0, "glucose"))) == [1, 1, 1]  # fmt: skip
    # One transaction, two statements into the same day: bumped once, both hours marked.
    d0_now = (2, marks(h1=1, h2=1, h3=2, h4=2))
    assert generations(world, p) == {d0: d0_now, d1: (1, marks(h5=1))}
    assert execute((add, (day + hour * 3, p, cgm, 90.0, "glucose"))) == [0]  # a replay
    assert execute((add, (day + hour * 9, p, "hr-1", 70.0, "heart_rate"))) == [1]
    assert generations(world, p) == {d0: d0_now, d1: (1, marks(h5=1))}
    assert execute(("UPDATE readings SET time = time + interval '6 hours' WHERE patient_id = %s"
                    " AND time = %s", (p, day + hour))) == [1]  # fmt: skip
    d0_now = (3, marks(h1=3, h2=1, h3=2, h4=2, h7=3))
    assert generations(world, p) == {d0: d0_now, d1: (1, marks(h5=1))}
    assert execute(("UPDATE readings SET value = 80 WHERE patient_id = %s AND time = %s",
                    (p, day + hour * 29))) == [1]  # fmt: skip
    assert execute(("DELETE FROM readings WHERE patient_id = %s AND metric = 'glucose'"
                    " AND time < %s", (p, day + hour * 2.5))) == [2]  # fmt: skip
    d0_now = (4, marks(h1=4, h2=4, h3=2, h4=2, h7=3))
    assert generations(world, p) == {d0: d0_now, d1: (2, marks(h5=2))}
    assert execute(("DELETE FROM readings WHERE patient_id = %s AND metric = 'heart_rate'",
                    (p,))) == [1]  # fmt: skip
    assert generations(world, p)[d0][0] == 4


def test_reading_rows_has_no_dropped_column(world: World) -> None:
    """The generation triggers read their statement's rows from transition tables. TimescaleDB
    before 2.2x misreads them once the hypertable has a dropped column (its issue 9613: the
    chunk's row layout is captured, not the hypertable's): reshaping `reading_rows` (the
    readings' hypertable since migration 0180) must rebuild the table, or the triggers must
    change with it."""
    with world.conn() as conn:
        dropped = conn.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'reading_rows'::regclass"
            " AND attisdropped"
        ).fetchone()
        triggers = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'reading_rows'::regclass"
            " AND tgname LIKE 'reading_rows_generations_%'"
        ).fetchone()
    assert dropped == (0,)
    assert triggers == (3,)


def test_the_row_bump_marks_each_hour_once_per_transaction(world: World) -> None:
    """``glucose_day_bump`` (one reading: for row triggers) keeps the same generations."""
    p = world.a.patient
    day = datetime(2026, 11, 20, tzinfo=UTC)
    with world.conn() as conn:
        with conn.transaction():
            for minutes in (60, 65, 180):
                conn.execute(
                    "SELECT glucose_day_bump(%s, %s)", (p, day + timedelta(minutes=minutes))
                )
        assert generations(world, p) == {day.date(): (1, marks(h1=1, h3=1))}
        with conn.transaction():
            conn.execute("SELECT glucose_day_bump(%s, %s)", (p, day + timedelta(hours=3)))
    assert generations(world, p) == {day.date(): (2, marks(h1=1, h3=2))}
