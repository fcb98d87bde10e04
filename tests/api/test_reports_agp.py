"""The AGP endpoint against an independent computation: iglu-python (the consensus metrics as
its authors implement them; a test-only dependency) and the formulas, on known traces."""

from __future__ import annotations

import csv
import io
import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import iglu_python as iglu
import numpy as np
import pandas as pd
import pytest

from tests.api.conftest import World

END = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # midnight in Seoul
START = END - timedelta(days=14)


def cgm_trace(
    seed: int = 7, step: timedelta = timedelta(minutes=5)
) -> list[tuple[datetime, float]]:
    """14 days of a type-1 day: a daily swing, meals, noise, a night low, the odd LOW and HIGH."""
    rnd = random.Random(seed)
    out = []
    t = START
    while t < END:
        hours = (t - START).total_seconds() / 3600
        value = 150 + 60 * math.sin(2 * math.pi * hours / 24) + rnd.gauss(0, 25)
        if 60 <= hours % 72 < 61:
            value = 50 - (t.minute // 5) % 3  # an hour's low every third day
        value = min(max(round(value), 40), 400)
        out.append((t, float(value)))
        t += step
    return out


def insert(world: World, patient: UUID, rows: list[tuple[datetime, float]]) -> None:
    with (
        world.conn() as conn,
        conn.cursor() as cur,
        cur.copy(
            "COPY readings (time, patient_id, metric, value, unit, device_id, received_at,"
            " censored) FROM STDIN"
        ) as copy,
    ):
        for t, v in rows:
            censored = "below" if v <= 40 else "above" if v >= 400 else None
            copy.write_row(
                (t, patient, "glucose", v, "mg/dL", f"cgm-{patient.hex[:8]}", t, censored)
            )


def agp(client: httpx.Client, world: World, patient: UUID, **params: Any) -> dict[str, Any]:
    r = client.get(
        f"/api/v1/patients/{patient}/reports/agp",
        params={"start": START.isoformat(), "end": END.isoformat()} | params,
        headers=world.headers("clinician"),
    )
    assert r.status_code == 200, r.text
    return r.json()


def iglu_frame(rows: list[tuple[datetime, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": "p", "time": [t.replace(tzinfo=None) for t, _ in rows], "gl": [v for _, v in rows]}
    )


def test_agp_matches_iglu_and_the_formulas(world: World, client: httpx.Client) -> None:
    rows = cgm_trace()
    insert(world, world.a.patient, rows)
    body = agp(client, world, world.a.patient)
    frame = iglu_frame(rows)
    values = np.array([v for _, v in rows])

    assert body["readings"] == len(rows) == 14 * 288
    assert body["days"] == 14
    assert body["active_percent"] == pytest.approx(100.0, abs=0.01)
    assert body["mean_mg_dl"] == pytest.approx(
        float(iglu.mean_glu(frame)["mean"].iloc[0]), abs=1e-6
    )
    assert body["sd_mg_dl"] == pytest.approx(float(iglu.sd_glu(frame)["SD"].iloc[0]), abs=1e-6)
    assert body["cv_percent"] == pytest.approx(float(iglu.cv_glu(frame)["CV"].iloc[0]), abs=1e-6)
    assert body["gmi_percent"] == pytest.approx(float(iglu.gmi(frame)["GMI"].iloc[0]), abs=1e-6)
    assert body["gmi_percent"] == pytest.approx(3.31 + 0.02392 * values.mean(), abs=1e-9)

    below = iglu.below_percent(frame, targets_below=[54, 70])
    above = iglu.above_percent(frame, targets_above=[180, 250])
    in_range = iglu.in_range_percent(frame, target_ranges=[[70, 180]])
    expected = {
        "below_54": float(below["below_54"].iloc[0]),
        "54_69": float(below["below_70"].iloc[0] - below["below_54"].iloc[0]),
        "70_180": float(in_range["in_range_70_180"].iloc[0]),
        "181_250": float(above["above_180"].iloc[0] - above["above_250"].iloc[0]),
        "above_250": float(above["above_250"].iloc[0]),
    }
    tir = body["time_in_ranges"]
    assert set(tir) == set(expected)
    for key, percent in expected.items():
        assert 100 * tir[key] == pytest.approx(percent, abs=1e-6), key
    assert sum(tir.values()) == pytest.approx(1.0)
    assert tir["below_54"] > 0
    assert tir["above_250"] > 0

    goals = {g["key"]: g for g in body["goals"]}
    assert goals["tir"]["met"] is (tir["70_180"] >= 0.70)
    assert goals["tbr"]["met"] is (tir["below_54"] + tir["54_69"] < 0.04)
    assert goals["cv"]["met"] is (body["cv_percent"] <= 36)
    assert goals["active"]["met"] is True

    # The 24-hour profile: the readings of each 15 minutes of the Seoul day, interpolated.
    seoul = ZoneInfo("Asia/Seoul")
    slots: dict[int, list[float]] = {}
    for t, v in rows:
        local = t.astimezone(seoul)
        slots.setdefault(local.hour * 60 + local.minute // 15 * 15, []).append(v)
    assert [p["minute"] for p in body["profile"]] == list(range(0, 1440, 15))
    for p in body["profile"]:
        got = [p["p5"], p["p25"], p["p50"], p["p75"], p["p95"]]
        want = np.percentile(slots[p["minute"]], [5, 25, 50, 75, 95])
        assert got == pytest.approx(list(want), abs=1e-9), p["minute"]
    q = iglu.quantile_glu(frame, quantiles=[5, 25, 50, 75, 95])
    assert np.percentile(values, 50) == pytest.approx(float(q.iloc[0, 3]))

    assert [d["day"] for d in body["daily"]] == [
        (START + timedelta(days=i)).astimezone(seoul).date().isoformat() for i in range(14)
    ]
    assert all(d["readings"] == 288 and len(d["points"]) == 96 for d in body["daily"])

    # Lows: the hour under 54 every third day, an episode below 70 and one below 54 each.
    lows = body["lows"]
    assert {lo["below"] for lo in lows} == {54, 70}
    planned = START + timedelta(hours=60)
    first_54 = next(lo for lo in lows if lo["below"] == 54 and lo["end"] > planned.isoformat())
    assert datetime.fromisoformat(first_54["start"]) <= planned
    assert datetime.fromisoformat(first_54["end"]) >= planned + timedelta(hours=1)
    assert first_54["nadir"] == 48


def test_time_in_ranges_is_weighted_by_time_not_count(world: World, client: httpx.Client) -> None:
    """A day of a 1-minute sensor at 100 mg/dL, then a day of a 5-minute one at 200, then a
    day's gap: half the worn time in range (by count it would be 83 %), two thirds of the period
    worn."""
    day = START
    one_minute = [(day + timedelta(minutes=i), 100.0) for i in range(1440)]
    five_minute = [(day + timedelta(days=1, minutes=5 * i), 200.0) for i in range(288)]
    insert(world, world.a.patient, one_minute + five_minute)
    body = agp(client, world, world.a.patient, end=(START + timedelta(days=3)).isoformat())
    assert body["readings"] == 1440 + 288
    assert body["time_in_ranges"]["70_180"] == pytest.approx(0.5, abs=1e-4)
    assert body["time_in_ranges"]["181_250"] == pytest.approx(0.5, abs=1e-4)
    assert body["active_percent"] == pytest.approx(200 / 3, abs=0.01)
    assert {g["key"]: g["met"] for g in body["goals"]}["active"] is False


def test_low_and_high_marks_count_in_the_end_ranges(world: World, client: httpx.Client) -> None:
    rows = [(START + timedelta(minutes=5 * i), v) for i, v in enumerate([40.0] * 6 + [400.0] * 6)]
    insert(world, world.a.patient, rows)
    body = agp(client, world, world.a.patient)
    assert body["time_in_ranges"]["below_54"] == pytest.approx(0.5)
    assert body["time_in_ranges"]["above_250"] == pytest.approx(0.5)
    assert [lo["below"] for lo in body["lows"]] == [70, 54]
    assert body["lows"][0]["nadir"] == 40


def test_a_short_dip_is_no_episode_and_no_readings_is_an_empty_report(
    world: World, client: httpx.Client
) -> None:
    empty = agp(client, world, world.a.patient)
    assert empty["readings"] == 0
    assert empty["mean_mg_dl"] is None
    assert empty["lows"] == []
    assert len(empty["profile"]) == 96
    assert empty["profile"][0]["p50"] is None
    rows = [(START + timedelta(minutes=5 * i), v) for i, v in enumerate([100, 60, 60, 100, 100])]
    insert(world, world.a.patient, [(t, float(v)) for t, v in rows])
    assert agp(client, world, world.a.patient)["lows"] == []  # 10 minutes under 70


def test_csv_gives_the_readings_behind_the_report(world: World, client: httpx.Client) -> None:
    rows = cgm_trace()[:50]
    insert(world, world.a.patient, rows)
    r = client.get(
        f"/api/v1/patients/{world.a.patient}/reports/agp",
        params={"start": START.isoformat(), "end": END.isoformat(), "format": "csv"},
        headers=world.headers("clinician"),
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    got = list(csv.DictReader(io.StringIO(r.text)))
    assert len(got) == 50
    assert [float(g["value"]) for g in got] == [v for _, v in rows]
    assert got[0]["time"] == START.isoformat()
    assert got[0]["unit"] == "mg/dL"


@pytest.mark.parametrize(
    ("who", "tenant", "patient", "status"),
    [
        ("outsider", "a", "patient", 404),  # a clinician of another team
        ("clinician", "b", "patient", 404),  # another tenant's clinician
        ("clinician", "a", "other_patient", 404),  # a patient outside the team
        ("patient", "a", "patient", 403),  # a patient reads their own on the feed
    ],
)
def test_reports_are_scoped_and_audited(
    world: World, client: httpx.Client, who: str, tenant: str, patient: str, status: int
) -> None:
    insert(world, world.a.patient, cgm_trace()[:20])
    target = getattr(world.a, patient)
    for fmt in ("json", "csv"):
        r = client.get(
            f"/api/v1/patients/{target}/reports/agp",
            params={"format": fmt},
            headers=world.headers(who, tenant),
        )
        assert r.status_code == status, r.text
        assert "glucose" not in r.text
    with world.conn() as conn:
        outcomes = conn.execute(
            "SELECT outcome FROM audit_log WHERE path LIKE %s", ("%/reports/agp",)
        ).fetchall()
    assert [o[0] for o in outcomes] == ["denied", "denied"]


def test_periods_follow_the_apis_rule(world: World, client: httpx.Client) -> None:
    """An inverted period selects nothing; one longer than 366 days is cut to the 366 before
    its end; a period without a zone or a format not offered is refused."""
    insert(world, world.a.patient, cgm_trace()[:12])
    url = f"/api/v1/patients/{world.a.patient}/reports/agp"
    h = world.headers("clinician")
    inverted = agp(client, world, world.a.patient, start=END.isoformat(), end=START.isoformat())
    assert inverted["readings"] == 0
    assert inverted["days"] == 0
    long = agp(client, world, world.a.patient, start="0786-07-17T17:37:23-03:08")
    assert long["days"] == 366
    assert long["readings"] == 12
    assert client.get(url, params={"format": "xml"}, headers=h).status_code == 422
    assert client.get(url, params={"start": "2026-01-01T00:00:00"}, headers=h).status_code == 422
