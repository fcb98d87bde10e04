"""The home blood-pressure report against the protocol computed here by hand: sittings
averaged, the first day left out, morning and evening, against the target."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from statistics import fmean
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.api.conftest import World

END = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # midnight in Seoul
START = END - timedelta(days=8)
SEOUL = timedelta(hours=9)


def cuff_week(seed: int = 3) -> list[tuple[datetime, float, float]]:
    """8 days from Seoul's midnight: two readings a minute apart at 07:00 and at 21:30; the
    first day's run high (as first days do)."""
    rnd = random.Random(seed)
    out = []
    for day in range(8):
        for hour in (7, 21.5):
            sitting = START + timedelta(days=day, hours=hour)
            for k in range(2):
                bump = 25 if day == 0 else 0
                out.append((sitting + timedelta(minutes=k), round(rnd.gauss(138 + bump, 8)),
                            round(rnd.gauss(86 + bump, 5))))  # fmt: skip
    return out


def insert(world: World, patient: UUID, rows: list[tuple[datetime, float, float]]) -> None:
    with world.conn() as conn, conn.cursor() as cur:
        for t, s, d in rows:
            for metric, v in (("bp_systolic", s), ("bp_diastolic", d)):
                cur.execute(
                    "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                    " received_at) VALUES (%s, %s, %s, %s, 'mm[Hg]', 'cuff-1', %s)",
                    (t, patient, metric, v, t),
                )


def home_bp(client: httpx.Client, world: World, **params: Any) -> dict[str, Any]:
    r = client.get(
        f"/api/v1/patients/{world.a.patient}/reports/home-bp",
        params={"start": START.isoformat(), "end": END.isoformat()} | params,
        headers=world.headers("clinician"),
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_home_bp_follows_the_protocol(world: World, client: httpx.Client) -> None:
    rows = cuff_week()
    insert(world, world.a.patient, rows)
    body = home_bp(client, world)

    kept = [r for r in rows if r[0] >= START + timedelta(days=1)]
    pairs = [kept[i : i + 2] for i in range(0, len(kept), 2)]  # a sitting's two readings
    means = [(p[0][0], fmean(x[1] for x in p), fmean(x[2] for x in p)) for p in pairs]
    morning = [m for m in means if (m[0] + SEOUL).hour < 12]
    evening = [m for m in means if (m[0] + SEOUL).hour >= 12]

    assert body["dropped_day"] == "2026-11-23"
    assert body["days_used"] == 7
    assert body["enough_days"] is True
    assert body["overall"]["readings"] == 28
    assert body["overall"]["sittings"] == 14
    for part, chosen in (("morning", morning), ("evening", evening), ("overall", means)):
        assert len(chosen) == body[part]["sittings"]
        assert body[part]["systolic"] == pytest.approx(fmean(m[1] for m in chosen), abs=0.05)
        assert body[part]["diastolic"] == pytest.approx(fmean(m[2] for m in chosen), abs=0.05)
    # The first day would have raised the averages by several mmHg.
    with_first = fmean(r[1] for r in rows)
    assert with_first - body["overall"]["systolic"] > 2
    assert body["target_systolic"] == 135
    assert body["target_diastolic"] == 85
    overall = body["overall"]
    assert body["at_target"] is (overall["systolic"] < 135 and overall["diastolic"] < 85)
    assert body["days"][0]["day"] == "2026-11-24"
    assert all(d["morning"]["readings"] == 2 and d["evening"]["readings"] == 2
               for d in body["days"])  # fmt: skip


def test_the_care_plans_target_is_the_one_judged_by(world: World, client: httpx.Client) -> None:
    t = START + timedelta(days=1, hours=7)
    insert(world, world.a.patient, [(t + timedelta(days=d), 128, 78) for d in range(4)])
    assert home_bp(client, world)["at_target"] is True
    r = client.put(
        f"/api/v1/patients/{world.a.patient}/care-plan",
        json={"targets": {"bp_systolic": {"high": 125}}},
        headers=world.headers("clinician"),
    )
    assert r.status_code == 200, r.text
    body = home_bp(client, world)
    assert body["target_systolic"] == 125
    assert body["at_target"] is False
    assert body["days_used"] == 3  # the first of the four days left out


def test_no_readings_and_a_lone_day(world: World, client: httpx.Client) -> None:
    empty = home_bp(client, world)
    assert empty["days_used"] == 0
    assert empty["overall"]["systolic"] is None
    assert empty["at_target"] is None
    insert(world, world.a.patient, [(START + timedelta(hours=7), 150, 95)])
    lone = home_bp(client, world)
    assert lone["dropped_day"] == "2026-11-23"
    assert lone["overall"]["readings"] == 0
    assert lone["enough_days"] is False


def test_home_bp_is_scoped(world: World, client: httpx.Client) -> None:
    insert(world, world.a.patient, cuff_week()[:4])
    url = f"/api/v1/patients/{world.a.patient}/reports/home-bp"
    assert client.get(url, headers=world.headers("outsider")).status_code == 404
    assert client.get(url, headers=world.headers("clinician", "b")).status_code == 404
    assert client.get(url, headers=world.headers("patient")).status_code == 403
    period = {"start": START.isoformat(), "end": END.isoformat()}
    r = client.get(url, params=period | {"format": "csv"}, headers=world.headers("clinician"))
    assert r.status_code == 200
    assert r.text.count("bp_systolic") == 4
