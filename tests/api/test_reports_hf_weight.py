"""The heart-failure weight diary: the day's first weighing, the detectors' own rules replayed
(2 kg in 3 days; well above the usual weight), the usual weight and its limit for every day
(checked against the detector's definition computed here by hand), the days the team had an
alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from psycopg.types.json import Jsonb

from tests.api.conftest import World

START = datetime(2026, 11, 1, 22, 0, tzinfo=UTC)  # 07:00 in Seoul
SKIPPED = 30
"""A day of :func:`steady_then_gaining` without a weighing."""


def steady_then_gaining() -> list[tuple[int, float]]:
    """(day, kg) at 07:00 in Seoul for 40 days: 34 days about 80 kg (79.9 / 80.1), then half a
    kilogram a day (the personal baseline's rule, not 2 kg in 3 days), then a kilogram a day
    (both); day 30 not weighed."""
    kgs = [80.0 + (0.1 if d % 2 else -0.1) for d in range(34)]
    kgs += [80.5, 81.0, 81.5, 82.0, 83.0, 84.0]
    return [(d, kg) for d, kg in enumerate(kgs) if d != SKIPPED]


def weigh(world: World, patient: UUID, weighings: list[tuple[datetime, float]]) -> None:
    with world.conn() as conn, conn.cursor() as cur:
        for t, kg in weighings:
            cur.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at) VALUES (%s, %s, 'body_weight', %s, 'kg', %s, %s)",
                (t, patient, kg, f"scale-{patient.hex[:6]}", t),
            )


def heart_failure(world: World, patient: UUID) -> None:
    with world.conn() as conn:
        conn.execute("UPDATE patients SET conditions = '{heart_failure}' WHERE id = %s",
                     (patient,))  # fmt: skip


def by_hand_usual(series: list[tuple[int, float]], day: int) -> float | None:
    """The personal-baseline detector's usual weight before ``day``'s weighing, by its
    definition: the exponentially weighted mean (fading factor 0.1, the first weighing taken
    as it is) of the weighings more than 4 days older than the latest one before ``day``,
    once there are 5 of them (none of these was itself 1.5 kg above it)."""
    before = [(d, kg) for d, kg in series if d < day]
    if not before:
        return None
    latest = before[-1][0]
    learnt = [kg for d, kg in before if latest - d > 4]
    if len(learnt) < 5:
        return None
    mean = learnt[0]
    for kg in learnt[1:]:
        mean = 0.1 * kg + 0.9 * mean
    return mean


def diary(client: httpx.Client, world: World, first: int, last: int, **params: Any) -> Any:
    r = client.get(
        f"/api/v1/patients/{world.a.patient}/reports/hf-weight",
        params={"start": (START + timedelta(days=first)).isoformat(),
                "end": (START + timedelta(days=last)).isoformat()} | params,
        headers=world.headers("clinician"),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def test_the_usual_weight_is_given_for_every_day_as_the_detector_holds_it(
    world: World, client: httpx.Client
) -> None:
    series = steady_then_gaining()
    heart_failure(world, world.a.patient)
    weigh(world, world.a.patient, [(START + timedelta(days=d), kg) for d, kg in series])
    body = diary(client, world, 20, 40)
    assert body["baseline_excess_kg"] == 1.5
    usual = body["usual"]
    # Every local day of the period (07:00 on day 20 to 07:00 on day 40, Seoul): 21 days,
    # the unweighed one too.
    first_day = (START + timedelta(days=20, hours=9)).date()
    assert [u["day"] for u in usual] == [
        (first_day + timedelta(days=i)).isoformat() for i in range(21)
    ]
    assert len(body["days"]) == 19
    for i, u in enumerate(usual):
        expected = by_hand_usual(series, 20 + i)
        assert expected is not None
        assert u["usual_kg"] == pytest.approx(expected, abs=1e-9), (u, expected)
        assert u["limit_kg"] == pytest.approx(expected + 1.5, abs=1e-9)
    assert usual[SKIPPED - 20]["day"] not in {d["day"] for d in body["days"]}
    # The rules drawn where they fired: the slow gain by the baseline rule, against the very
    # usual weight the band shows that day; the fast one by 2 kg in 3 days.
    fired = {d["day"]: d["rules"] for d in body["days"] if d["rules"]}
    band = {u["day"]: u for u in usual}
    baseline_days = [day for day, rules in fired.items()
                     if any(h["rule"] == "hf_weight_baseline" for h in rules)]  # fmt: skip
    assert baseline_days
    for day in baseline_days:
        hit = next(h for h in fired[day] if h["rule"] == "hf_weight_baseline")
        assert hit["baseline_kg"] == pytest.approx(band[day]["usual_kg"], abs=1e-9)
        assert hit["threshold"] == pytest.approx(band[day]["limit_kg"], abs=1e-9)
        assert hit["previous_kg"] is not None
    last_weighed = (first_day + timedelta(days=19)).isoformat()
    gain = [h for h in fired[last_weighed] if h["rule"] == "hf_weight_gain"]
    assert gain
    assert (gain[0]["kg"], gain[0]["baseline_kg"], gain[0]["window_days"]) == (84.0, 81.5, 3.0)
    assert min(fired) >= (first_day + timedelta(days=16)).isoformat()  # none while steady


def test_the_usual_weight_is_none_while_the_detector_learns(
    world: World, client: httpx.Client
) -> None:
    series = steady_then_gaining()[:12]
    weigh(world, world.a.patient, [(START + timedelta(days=d), kg) for d, kg in series])
    usual = diary(client, world, 0, 12)["usual"]
    assert [u["usual_kg"] is None for u in usual] == [
        by_hand_usual(series, i) is None for i in range(len(usual))
    ]
    assert usual[0]["usual_kg"] is None
    assert usual[-1]["usual_kg"] is not None


def test_the_weight_diary_draws_the_rules_and_the_alerts(
    world: World, client: httpx.Client
) -> None:
    kgs = [80.0 + (0.1 if d % 2 else -0.1) for d in range(20)] + [80.8, 81.6, 82.4, 83.2]
    with world.conn() as conn:
        conn.execute("UPDATE patients SET conditions = '{heart_failure}' WHERE id = %s",
                     (world.a.patient,))  # fmt: skip
        for d, kg in enumerate(kgs):
            for extra, value in ((0, kg), (10, kg + 0.6)):  # an evening weighing, in clothes
                t = START + timedelta(days=d, hours=extra)
                conn.execute(
                    "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                    " received_at) VALUES (%s, %s, 'body_weight', %s, 'kg', 'scale', %s)",
                    (t, world.a.patient, value, t),
                )
        alert_at = START + timedelta(days=22)
        conn.execute(
            "INSERT INTO alerts (tenant_id, patient_id, cause, episode, causes, detector, state,"
            " severity, first_seen, last_seen, explanation) VALUES (%s, %s, 'hf_decompensation',"
            " 'hf_decompensation', '{hf_decompensation}', 'hf_weight_gain', 'open', 2, %s, %s,"
            " %s)",
            (world.a.id, world.a.patient, alert_at, alert_at, Jsonb({})),
        )
    r = client.get(
        f"/api/v1/patients/{world.a.patient}/reports/hf-weight",
        params={
            "start": (START + timedelta(days=10)).isoformat(),
            "end": (START + timedelta(days=25)).isoformat(),
        },
        headers=world.headers("clinician"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["heart_failure"] is True
    assert (body["gain_kg"], body["gain_days"]) == (2.0, 3.0)
    days = body["days"]
    assert len(days) == 14
    assert [d["kg"] for d in days] == [round(k, 1) for k in kgs[10:]]  # mornings, not evenings
    fired = {d["day"]: {h["rule"] for h in d["rules"]} for d in days if d["rules"]}
    assert fired, days
    first = min(fired)
    assert first >= "2026-11-23"  # nothing while the weight was steady
    assert any("hf_weight_gain" in rules for rules in fired.values())
    assert body["alert_days"] == ["2026-11-24"]
    assert [d["day"] for d in days if d["alert"]] == ["2026-11-24"]


def test_the_weight_diary_is_scoped(world: World, client: httpx.Client) -> None:
    url = f"/api/v1/patients/{world.a.patient}/reports/hf-weight"
    assert client.get(url, headers=world.headers("outsider")).status_code == 404
    assert client.get(url, headers=world.headers("patient")).status_code == 403
    empty = client.get(url, headers=world.headers("clinician")).json()
    assert empty["days"] == []
    assert empty["heart_failure"] is False


def test_a_patient_reads_only_their_own_diary_and_others_nothing(
    world: World, client: httpx.Client
) -> None:
    mine, theirs = world.a.patient, world.a.other_patient
    weigh(world, mine, [(START + timedelta(days=d), 70.0 + d / 10) for d in range(5)])
    weigh(world, theirs, [(START + timedelta(days=d), 90.0) for d in range(5)])
    period = {"start": START.isoformat(), "end": (START + timedelta(days=5)).isoformat()}
    own = client.get("/api/v1/me/reports/hf-weight", params=period,
                     headers=world.headers("patient"))  # fmt: skip
    assert own.status_code == 200, own.text
    assert [d["kg"] for d in own.json()["days"]] == [70.0, 70.1, 70.2, 70.3, 70.4]
    other = client.get("/api/v1/me/reports/hf-weight", params=period,
                       headers=world.headers("other_patient"))  # fmt: skip
    assert [d["kg"] for d in other.json()["days"]] == [90.0] * 5
    assert client.get("/api/v1/me/reports/hf-weight",
                      headers=world.headers("clinician")).status_code == 403  # fmt: skip
    url = f"/api/v1/patients/{mine}/reports/hf-weight"
    for who, tenant in (("outsider", "a"), ("clinician", "b"), ("admin", "b")):
        for params in ({}, {"format": "pdf"}, {"format": "html"}, {"format": "csv"}):
            r = client.get(url, params=params, headers=world.headers(who, tenant))
            assert r.status_code == 404, (who, tenant, params, r.status_code)
            assert not r.content.startswith(b"%PDF")
            assert b"70.0" not in r.content
    # The patient's own page (the phone's): their weights, none of the other's.
    page = client.get("/api/v1/me/reports/hf-weight", params=period | {"format": "html"},
                      headers=world.headers("patient"))  # fmt: skip
    assert "70.4 kg" in page.text
    assert "90.0 kg" not in page.text
