"""The dashboard's own endpoints against the real API and database: triage of the care
team's patients, and the patient's stored feed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, build_world, make_app
from vigil.alerts import AlertService
from vigil.api import clinical_repo
from vigil.api import repo as api_repo
from vigil.clinical import Severity
from vigil.core.metrics import SPECS, Metric
from vigil.storage import admin

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[World, httpx.Client]]:
    world = build_world(db_url)
    with LiveServer(make_app(db_url)) as base, httpx.Client(base_url=base, timeout=30) as c:
        yield world, c


def enrol(
    conn: psycopg.Connection[Any], world: World, name: str, conditions: list[str]
) -> uuid.UUID:
    t = world.a
    pid = admin.create_patient(conn, tenant_id=t.id, display_name=name, conditions=conditions)
    api_repo.add_team_patient(conn, team_id=t.team, patient_id=pid, tenant_id=t.id)
    return pid


def readings(
    conn: psycopg.Connection[Any], rows: Sequence[tuple[datetime, uuid.UUID, str, float]]
) -> None:
    with conn.cursor().copy(
        "COPY readings (time, patient_id, metric, value, unit, device_id, received_at) FROM STDIN"
    ) as copy:
        for t, pid, metric, value in rows:
            unit = SPECS[Metric(metric)].ucum  # storage keeps each metric's canonical unit
            copy.write_row((t, pid, metric, value, unit, f"d-{pid.hex[:8]}", t))


def test_triage_groups_the_care_team_by_what_needs_attention(
    served: tuple[World, httpx.Client],
) -> None:
    world, client = served
    with world.conn() as conn:
        crit = world.a.patient
        bp_high = enrol(conn, world, "BP high", ["hypertension"])
        lows = enrol(conn, world, "Lows", ["t2d"])
        hf = enrol(conn, world, "HF gaining", ["heart_failure"])
        silent = enrol(conn, world, "Silent", ["copd"])
        fine = enrol(conn, world, "Fine", ["hypertension"])
        rows: list[tuple[datetime, uuid.UUID, str, float]] = []
        for d in range(5):
            t = NOW - timedelta(days=d, hours=1)
            rows += [(t, bp_high, "bp_systolic", 152), (t, bp_high, "bp_diastolic", 88)]
            rows += [(t, fine, "bp_systolic", 124), (t, fine, "bp_diastolic", 78)]
        rows += [
            (NOW - timedelta(minutes=15 * k), lows, "glucose", 60 if k % 10 == 0 else 130)
            for k in range(100)
        ]
        rows += [
            (NOW - timedelta(days=d, hours=2), hf, "body_weight", 80 + (1.5 if d < 7 else 0))
            for d in range(14)
        ]
        rows += [(NOW - timedelta(days=5), silent, "spo2", 93)]
        readings(conn, rows)
        AlertService().apply(conn, [finding(crit, severity=Severity.CRITICAL)])
        AlertService().apply(conn, [finding(world.a.other_patient, severity=Severity.CRITICAL)])

    r = client.get("/api/v1/triage", headers=world.headers("clinician"))
    assert r.status_code == 200, r.text
    groups = {g["group"]: g for g in r.json()["groups"]}
    names = {k: [p["display_name"] for p in g["patients"]] for k, g in groups.items()}
    assert names == {
        "critical": ["Clinic A patient"],
        "out_of_target": names["out_of_target"],  # ordered below by number of reasons
        "not_measuring": ["Silent"],
        "stable": ["Fine"],
    }
    assert sorted(names["out_of_target"]) == ["BP high", "HF gaining", "Lows"]
    reasons = {p["display_name"]: p["reasons"] for p in groups["out_of_target"]["patients"]}
    assert reasons["BP high"] == ["home BP average 152/88 (target <135/85)"]
    assert reasons["Lows"] == ["time below 70 mg/dL 10%"]
    assert reasons["HF gaining"] == ["weight up 1.5 kg on the week before"]
    sparks = {p["display_name"]: p for p in groups["out_of_target"]["patients"]}
    assert sparks["HF gaining"]["spark_metric"] == "body_weight"
    assert sparks["HF gaining"]["spark"][-1] == 81.5
    assert len(sparks["HF gaining"]["spark"]) in (14, 15)  # days, as the 14 days fall
    assert sparks["Lows"]["spark_metric"] == "glucose"
    # The patient outside the care team is not listed; patients may not triage.
    assert "Clinic A other" not in str(names)
    assert client.get("/api/v1/triage", headers=world.headers("patient")).status_code == 403
    one = client.get(
        "/api/v1/triage",
        params={"group": "out_of_target", "limit": 1, "offset": 1},
        headers=world.headers("clinician"),
    ).json()["groups"]
    assert [(g["group"], g["count"], len(g["patients"])) for g in one] == [
        ("critical", 1, 0),
        ("out_of_target", 3, 1),
        ("not_measuring", 1, 0),
        ("stable", 1, 0),
    ]


def test_patient_feed_items_are_generated_stored_and_only_for_patients(
    served: tuple[World, httpx.Client],
) -> None:
    world, client = served
    with world.conn() as conn:
        rows = []
        for d in range(4):
            t = NOW - timedelta(days=d, minutes=5)
            rows += [
                (t, world.a.patient, "bp_systolic", 127.0),
                (t, world.a.patient, "bp_diastolic", 79.0),
            ]
        rows.append((NOW - timedelta(days=3), world.a.patient, "spo2", 94.0))
        readings(conn, rows)
    english = {**world.headers("patient"), "Accept-Language": "en"}
    r = client.get("/api/v1/me/feed/items", headers=english)
    assert r.status_code == 200, r.text
    items = {i["kind"]: i for i in r.json()}
    assert set(items) == {"bp_week", "streak", "reminder"}
    assert "averaged 127/79 mmHg" in items["bp_week"]["body"]
    assert items["reminder"]["body"].startswith("We have not had your oxygen level since")
    # Korean unless the caller asks for another language (the pages' rule).
    r = client.get("/api/v1/me/feed/items", headers=world.headers("patient"))
    items = {i["kind"]: i for i in r.json()}
    assert "평균 127/79 mmHg였어요" in items["bp_week"]["body"]
    assert "이후로 산소포화도 기록이 없어요" in items["reminder"]["body"]
    with world.conn() as conn:
        stored = conn.execute(
            "SELECT count(*) FROM feed_items WHERE patient_id = %s", (world.a.patient,)
        ).fetchone()
    assert stored == (3,)
    assert (
        client.get("/api/v1/me/feed/items", headers=world.headers("clinician")).status_code == 403
    )


PAST_WEEK = "bp_week:2026-W01"
STORED_WEEK: dict[str, Any] = {
    "key": PAST_WEEK,
    "kind": "bp_week",
    "tone": "note",
    "title": "Your blood pressure this week",
    "body": "Your home blood pressure averaged 142/88 over the last 7 days (5 readings). ...",
    "data": {"systolic": 142, "diastolic": 88, "readings": 5, "target": "135/85"},
}
"""A past week's card, stored once and never rewritten (refreshing writes this week's)."""


def store(conn: psycopg.Connection[Any], patient: uuid.UUID, card: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO feed_items (patient_id, key, kind, time, title, body, tone, data)"
        " VALUES (%(patient)s, %(key)s, %(kind)s, %(time)s, %(title)s, %(body)s, %(tone)s,"
        " %(data)s)",
        {
            **card,
            "patient": patient,
            "time": NOW - timedelta(days=300),
            "data": Jsonb(card["data"]),
        },
    )


def feed_items(client: httpx.Client, **kw: Any) -> httpx.Response:
    r = client.get("/api/v1/me/feed/items", **kw)
    assert r.status_code == 200, r.text
    return r


def card(r: httpx.Response, key: str) -> dict[str, Any]:
    [item] = [i for i in r.json() if i["key"] == key]
    assert isinstance(item, dict)
    return item


def test_the_same_stored_card_comes_back_in_the_callers_language(
    served: tuple[World, httpx.Client],
) -> None:
    world, client = served
    with world.conn() as conn:
        store(conn, world.a.patient, STORED_WEEK)
    me = world.headers("patient")
    ko_body = (
        "최근 7일 동안 집에서 잰 혈압은 평균 142/88 mmHg였어요(측정 5회). 목표는 135/85 mmHg "
        "미만이에요. 진료팀이 함께 살펴보고 있어요. 매일 같은 시간에 재 주시면 전체 흐름을 보는 데 "
        "도움이 돼요."
    )
    en_body = (
        "Your home blood pressure averaged 142/88 mmHg over the last 7 days (5 readings). "
        "Your target is under 135/85 mmHg. Your care team looks at this with you; keep "
        "measuring at the same times each day so they see the full picture."
    )
    # The pages' rule: ?lang=, then the vigil_lang cookie, then Accept-Language, else Korean.
    for headers, params, lang in [
        ({}, {}, "ko"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, {}, "en"),
        ({"Accept-Language": "en", "Cookie": "vigil_lang=ko"}, {}, "ko"),
        ({"Cookie": "vigil_lang=en"}, {}, "en"),
        ({"Cookie": "vigil_lang=en"}, {"lang": "ko"}, "ko"),
        ({"Accept-Language": "ko-KR;q=0.9, en;q=1"}, {}, "en"),
    ]:
        r = feed_items(client, headers={**me, **headers}, params=params)
        item = card(r, PAST_WEEK)
        assert (item["title"], item["body"], item["lang"]) == (
            ("이번 주 혈압", ko_body, "ko")
            if lang == "ko"
            else ("Your blood pressure this week", en_body, "en")
        ), (headers, params)
        assert r.headers["content-language"] == lang
    with world.conn() as conn:  # read, not rewritten: the stored words are as they were
        row = conn.execute(
            "SELECT body FROM feed_items WHERE patient_id = %s AND key = %s",
            (world.a.patient, PAST_WEEK),
        ).fetchone()
    assert row == (STORED_WEEK["body"],)


def test_an_unknown_or_absurd_language_gets_the_default_not_an_error(
    served: tuple[World, httpx.Client],
) -> None:
    world, client = served
    with world.conn() as conn:
        store(conn, world.a.patient, STORED_WEEK)
        # A card stored before its data carried its words' values: its stored English.
        old = {**STORED_WEEK, "key": "tir_week:2026-W01", "kind": "tir_week", "tone": "good"}
        store(conn, world.a.patient, {**old, "body": "Your glucose was ...", "data": {"goal": 70}})
    me = world.headers("patient")
    for headers, params in [
        ({"Accept-Language": "fr-FR, de;q=0.8"}, {}),
        ({"Accept-Language": "en;q=0, *"}, {}),  # q=0: English refused
        ({"Accept-Language": "en;q=nan, en;q=2, en;q=-1, ;;;q=,"}, {}),
        ({"Cookie": "vigil_lang=../../etc"}, {"lang": "x" * 2000}),
        ({"Accept-Language": ", ".join(f"x{i}-YY;q=0.{i % 10}" for i in range(500))}, {}),
    ]:
        r = feed_items(client, headers={**me, **headers}, params=params)
        assert r.headers["content-language"] == "ko", headers
        assert card(r, PAST_WEEK)["title"] == "이번 주 혈압"
        stale = card(r, "tir_week:2026-W01")
        assert (stale["body"], stale["lang"]) == ("Your glucose was ...", "en")
    # A header of 52 KB (under the server's 64 KiB head): only its first ranges are read, so
    # the English far down it is not reached and the answer is the default, at once.
    long = {**me, "Accept-Language": "xx-YY;q=0.9, " * 4_000 + "en"}
    r = feed_items(client, headers=long)
    assert r.headers["content-language"] == "ko"
    assert card(r, PAST_WEEK)["title"] == "이번 주 혈압"
    # One of 300 KB never reaches the application (vigil.api.serving).
    huge = {**me, "Accept-Language": "xx-YY;q=0.9, " * 24_000 + "en"}
    r = client.get("/api/v1/me/feed/items", headers=huge)
    assert r.status_code == 431
    assert "request line and headers over" in r.text


def test_triage_of_a_thousand_patients_answers_in_one_query(
    served: tuple[World, httpx.Client],
) -> None:
    world, client = served
    with world.conn() as conn:
        rows = []
        for i in range(1000):
            pid = enrol(conn, world, f"P{i:04d}", ["hypertension"])
            for d in range(14):  # a morning and evening BP every day for two weeks
                for h in (8, 20):
                    t = NOW - timedelta(days=d, hours=h)
                    sys_ = 150 if i % 10 == 0 else 125
                    rows += [(t, pid, "bp_systolic", sys_), (t, pid, "bp_diastolic", 80)]
        readings(conn, rows)
        conn.execute("ANALYZE readings")
    headers = world.headers("clinician")
    client.get("/api/v1/triage", headers=headers)  # warm
    started = time.perf_counter()
    body = client.get("/api/v1/triage", params={"limit": 20}, headers=headers).json()
    elapsed = time.perf_counter() - started
    counts = {g["group"]: g["count"] for g in body["groups"]}
    assert counts["out_of_target"] == 100
    assert sum(counts.values()) == 1001
    assert all(len(g["patients"]) <= 20 for g in body["groups"])
    # A figure, not a bound (a busy CI machine is several times slower): 0.15 s measured here.
    print(f"\ntriage of 1,001 patients (56k readings) answered in {elapsed:.2f} s")


def test_triage_counts_time_below_range_against_the_patients_own_target(
    served: tuple[World, httpx.Client],
) -> None:
    """A plan with a low target of 80 mg/dL is told, and counted, 'time below 80': readings
    at 75 are below it, though not below the default 70."""
    world, client = served
    with world.conn() as conn:
        own = enrol(conn, world, "Own target", ["t1d"])
        clinical_repo.put_care_plan(
            conn,
            patient_id=own,
            targets={"glucose": {"low": 80, "high": 180}},
            thresholds={},
            user_id=world.a.users["clinician"],
        )
        readings(
            conn,
            [
                (NOW - timedelta(minutes=15 * k), own, "glucose", 75 if k % 5 == 0 else 130)
                for k in range(100)
            ],
        )
    r = client.get("/api/v1/triage", headers=world.headers("clinician"))
    groups = {g["group"]: g for g in r.json()["groups"]}
    [row] = [p for p in groups["out_of_target"]["patients"] if p["display_name"] == "Own target"]
    assert row["reasons"] == ["time below 80 mg/dL 20%"]
    assert row["why"][0]["values"] == {"low": 80.0, "share": 0.2}
