"""The feed's act_now items: a dangerous latest reading (stored as ingest stores it) is at the
top of ``/me/feed`` in the patient's language until a normal reading or the care team's reply;
the team's own instruction replaces the default guidance; only the team sets it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb

from tests.api.conftest import World
from tests.storing import store_as_ingest
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading

HANGUL = re.compile("[가-힣]")


def store(world: World, *rows: tuple[Metric, float, datetime, str | None]) -> None:
    with psycopg.connect(world.db_url) as conn:
        store_as_ingest(conn, [
            StoredReading(t, world.a.patient, m, v, "dev-1", t, c) for m, v, t, c in rows
        ])  # fmt: skip
        conn.commit()


def bp(world: World, systolic: float, diastolic: float, t: datetime) -> None:
    store(world, (Metric.BP_SYSTOLIC, systolic, t, None), (Metric.BP_DIASTOLIC, diastolic, t, None))


def act_now(client: httpx.Client, world: World, lang: str | None = None) -> list[dict[str, Any]]:
    params = {"lang": lang} if lang else {}
    r = client.get("/api/v1/me/feed", params=params, headers=world.headers("patient"))
    assert r.status_code == 200, r.text
    assert r.headers["content-language"] == (lang or "ko")
    items: list[dict[str, Any]] = r.json()["act_now"]
    return items


def test_a_crisis_bp_says_what_to_do_until_a_normal_reading(
    world: World, client: httpx.Client
) -> None:
    now = datetime.now(UTC)
    assert act_now(client, world) == []
    bp(world, 190, 125, now - timedelta(minutes=2))
    [en] = act_now(client, world, "en")
    assert en["kind"] == "bp_crisis"
    assert en["reading"] == "190/125 mmHg"
    assert en["limit"] == "180/120 mmHg"
    assert en["title"] == "Your blood pressure is very high: 190/125 mmHg"
    assert "measure again" in en["body"]
    assert "119" in en["body"]
    assert en["source"] == "guidance"
    assert datetime.fromisoformat(en["time"]) == (now - timedelta(minutes=2)).replace(
        microsecond=(now - timedelta(minutes=2)).microsecond
    )
    [ko] = act_now(client, world)
    assert ko["title"] == "혈압이 매우 높습니다: 190/125 mmHg"
    assert HANGUL.search(ko["body"])
    assert "119" in ko["body"]
    bp(world, 178, 119, now - timedelta(minutes=1))  # just under both levels
    assert act_now(client, world) == []


def test_glucose_lows_and_the_15_15_rule(world: World, client: httpx.Client) -> None:
    now = datetime.now(UTC)
    store(world, (Metric.GLUCOSE, 62.0, now - timedelta(minutes=9), None))
    [low] = act_now(client, world, "en")
    assert low["kind"] == "glucose_low"
    assert low["title"] == "Your glucose is low: 62 mg/dL"
    assert "15 g" in low["body"]
    assert "15 minutes" in low["body"]
    assert "above 70 mg/dL" in low["body"]
    store(world, (Metric.GLUCOSE, 40.0, now - timedelta(minutes=4), "below"))
    [urgent] = act_now(client, world)
    assert urgent["kind"] == "glucose_urgent_low"
    assert urgent["reading"] == "LOW"
    assert "119" in urgent["body"]
    assert HANGUL.search(urgent["title"])
    store(world, (Metric.GLUCOSE, 95.0, now, None))
    assert act_now(client, world) == []


def test_the_care_teams_reply_ends_the_item(world: World, client: httpx.Client) -> None:
    now = datetime.now(UTC)
    bp(world, 185, 100, now - timedelta(minutes=3))
    store(world, (Metric.SPO2, 84.0, now - timedelta(minutes=3), None))
    assert [i["kind"] for i in act_now(client, world)] == ["bp_crisis", "spo2_low"]
    with world.conn() as conn:
        conn.execute(
            "INSERT INTO alerts (tenant_id, patient_id, cause, episode, causes, detector, state,"
            " severity, first_seen, last_seen, explanation, acknowledged_at)"
            " VALUES (%s, %s, 'hypertensive_crisis', 'hypertensive_crisis',"
            " '{hypertensive_crisis}', 'bp_crisis', 'acknowledged', 3, %s, %s, %s, now())",
            (world.a.id, world.a.patient, now, now, Jsonb({})),
        )
    assert [i["kind"] for i in act_now(client, world)] == ["spo2_low"]


def test_the_teams_own_instruction_in_both_languages(world: World, client: httpx.Client) -> None:
    url = f"/api/v1/patients/{world.a.patient}/care-plan/instructions"
    own = {
        "spo2_low": {
            "ko": "산소를 분당 2 L로 올리고 간호사실(02-000-0000)에 전화하세요.",
            "en": "Turn your oxygen up to 2 L/min and call the nurses on 02-000-0000.",
        }
    }
    r = client.put(url, json={"instructions": own}, headers=world.headers("clinician"))
    assert r.status_code == 200, r.text
    assert client.get(url, headers=world.headers("clinician")).json()["instructions"] == own
    store(world, (Metric.SPO2, 86.0, datetime.now(UTC), None))  # the COPD plan's level: 88
    [en] = act_now(client, world, "en")
    assert en["title"] == "Your oxygen level is low: 86%"
    assert en["limit"] == "88%"
    assert en["body"] == own["spo2_low"]["en"]
    assert en["source"] == "care_plan"
    assert act_now(client, world, "ko")[0]["body"] == own["spo2_low"]["ko"]


def test_only_the_care_team_sets_instructions(world: World, client: httpx.Client) -> None:
    url = f"/api/v1/patients/{world.a.patient}/care-plan/instructions"
    good = {"instructions": {"bp_crisis": {"en": "Call us."}}}
    for who, tenant, status in (("patient", "a", 403), ("outsider", "a", 404),
                                ("clinician", "b", 404)):  # fmt: skip
        r = client.put(url, json=good, headers=world.headers(who, tenant))
        assert r.status_code == status, (who, r.text)
    for bad in (
        {"instructions": {"nap_time": {"en": "Sleep."}}},  # no such kind
        {"instructions": {"bp_crisis": {"fr": "Appelez."}}},  # no such language
        {"instructions": {"bp_crisis": {"en": "x" * 501}}},
        {"instructions": {"bp_crisis": {"en": "   "}}},
    ):
        r = client.put(url, json=bad, headers=world.headers("clinician"))
        assert r.status_code == 422, bad
    with world.conn() as conn:
        stored = conn.execute(
            "SELECT instructions FROM care_plans WHERE patient_id = %s", (world.a.patient,)
        ).fetchone()
    assert stored is None


def test_another_patients_danger_is_not_in_my_feed(world: World, client: httpx.Client) -> None:
    with psycopg.connect(world.db_url) as conn:
        t = datetime.now(UTC)
        store_as_ingest(conn, [
            StoredReading(t, world.a.other_patient, Metric.GLUCOSE, 45.0, "dev-2", t)
        ])  # fmt: skip
        conn.commit()
    assert act_now(client, world) == []
    r = client.get("/api/v1/me/feed", headers=world.headers("other_patient"))
    assert [i["kind"] for i in r.json()["act_now"]] == ["glucose_urgent_low"]
