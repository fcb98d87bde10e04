"""Alerts through the API: inbox, actions, events, SSE, and the burden report."""

from __future__ import annotations

import queue
import time

import httpx
import psycopg
import pytest

from tests.alerts.conftest import finding
from tests.api.conftest import LiveServer, World, make_app
from tests.api.sse import SseReader
from vigil.alerts import AlertService
from vigil.api.state import state_of
from vigil.clinical.findings import Severity

pytestmark = pytest.mark.integration


def test_alert_inbox_actions_events_and_stream(
    client: httpx.Client, base_url: str, world: World
) -> None:
    nurse = world.headers("clinician")
    stream_url = f"{base_url}/api/v1/alerts/stream"
    with SseReader(stream_url, nurse) as sse, world.conn() as conn:
        changes = AlertService().apply(
            conn,
            [
                finding(world.a.patient, value=85, severity=Severity.CRITICAL),
                finding(world.a.other_patient, cause="bp_high"),  # not the nurse's patient
            ],
        )
        [opened] = [c for c in changes if c.patient_id == world.a.patient]
        event = sse.next()
        assert event["event"] == "alert"
        assert event["data"]["alert_id"] == str(opened.alert_id)
        assert event["data"]["kind"] == "opened"
        assert event["data"]["explanation"] == "SpO2 85 % is below 90 %"

        inbox = client.get("/api/v1/alerts", headers=nurse).json()
        assert [a["id"] for a in inbox] == [str(opened.alert_id)]
        assert inbox[0]["severity"] == "critical"
        assert inbox[0]["explanation"]["sentence"] == "SpO2 85 % is below 90 %"
        assert (inbox[0]["episode"], inbox[0]["causes"]) == ("deterioration", ["spo2_low"])
        assert inbox[0]["worst_value"] == 85
        one = client.get(f"/api/v1/alerts/{opened.alert_id}", headers=nurse).json()
        assert (one["episode"], one["worst_value"]) == ("deterioration", 85)
        assert len(client.get("/api/v1/alerts", headers=world.headers("admin")).json()) == 2
        assert client.get("/api/v1/alerts", headers=world.headers("outsider")).json() == []

        url = f"/api/v1/alerts/{opened.alert_id}"
        r = client.post(f"{url}/acknowledge", json={"note": "calling her"}, headers=nurse)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "acknowledged"
        assert sse.next()["data"]["kind"] == "acknowledged"
        r = client.post(f"{url}/comments", json={"note": "re-measured: 91"}, headers=nurse)
        assert r.status_code == 200
        r = client.post(f"{url}/resolve", json={"outcome": "actionable"}, headers=nurse)
        assert r.json()["state"] == "resolved"
        r = client.post(f"{url}/snooze", json={"minutes": 5}, headers=nurse)
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "conflict"

        events = client.get(f"{url}/events", headers=nurse).json()
        assert [e["kind"] for e in events] == ["opened", "acknowledged", "commented", "resolved"]
        assert events[1]["note"] == "calling her"
        assert events[1]["actor_user_id"] == str(world.a.users["clinician"])
        resolved = client.get("/api/v1/alerts?state=resolved", headers=nurse).json()
        assert resolved[0]["outcome"] == "actionable"

    report = client.get("/api/v1/reports/alert-burden", headers=world.headers("admin")).json()
    spo2 = next(r for r in report["by_rule"] if r["key"] == "spo2_low")
    assert spo2["alerts"] == 1
    assert spo2["actionable_share"] == 1.0
    assert spo2["alerts_per_patient_week"] > 0


def test_an_open_stream_follows_care_team_changes_and_ends_at_sign_out(world: World) -> None:
    app = make_app(world.db_url)
    state_of(app).stream_recheck_s = 0.2
    clinician = world.a.users["clinician"]

    def open_alert(cause: str) -> None:
        with psycopg.connect(world.db_url) as conn:
            AlertService().apply(conn, [finding(world.a.patient, cause=cause)])
            conn.commit()

    with (
        LiveServer(app) as url,
        SseReader(
            f"{url}/api/v1/alerts/stream", world.headers("clinician"), read_timeout=5
        ) as reader,
    ):
        open_alert("spo2_low")
        assert reader.next()["data"]["cause"] == "spo2_low"
        with world.conn() as conn:  # taken off the care team while the dashboard is open
            conn.execute("DELETE FROM care_team_members WHERE user_id = %s", (clinician,))
        time.sleep(0.6)
        open_alert("heart_rate_high")
        with pytest.raises(queue.Empty):
            reader.next(timeout=1.5)
        with world.conn() as conn:
            conn.execute(
                "INSERT INTO care_team_members (team_id, user_id) VALUES (%s, %s)",
                (world.a.team, clinician),
            )
        time.sleep(0.6)
        open_alert("fever")
        assert reader.next()["data"]["cause"] == "fever"
        signed_out = httpx.post(f"{url}/api/v1/auth/logout", headers=world.headers("clinician"))
        assert signed_out.is_success, signed_out.text
        reader.thread.join(5)
        assert not reader.thread.is_alive(), "the stream outlived its token"


def test_an_alert_resolved_because_its_episode_ended_stays_in_the_inbox_marked_so(
    client: httpx.Client, world: World
) -> None:
    """Acknowledged is not gone: the system's resolution is shown in the inbox for a while,
    with its outcome, and its trail names it as automatic (no person)."""
    from datetime import UTC, datetime, timedelta

    nurse = world.headers("clinician")
    days_ago = datetime.now(UTC) - timedelta(days=4)  # the deterioration episode: 72 h
    svc = AlertService()
    with world.conn() as conn:
        [change] = svc.apply(
            conn, [finding(world.a.patient, severity=Severity.CRITICAL, time=days_ago)]
        )
        svc.acknowledge(conn, alert_id=change.alert_id, user_id=world.a.users["clinician"])
        held = svc.tick(conn, now=datetime.now(UTC) + timedelta(minutes=5))
        assert [c for c in held if c.alert_id == change.alert_id] == []
        svc.tick(conn, now=datetime.now(UTC) + svc.policy.seen_critical_hold)
    inbox = client.get("/api/v1/alerts", headers=nurse).json()
    [shown] = [a for a in inbox if a["id"] == str(change.alert_id)]
    assert (shown["state"], shown["outcome"]) == ("resolved", "episode_ended")
    chosen = client.get("/api/v1/alerts", params={"state": "open"}, headers=nurse).json()
    assert str(change.alert_id) not in [a["id"] for a in chosen]
    events = client.get(f"/api/v1/alerts/{change.alert_id}/events", headers=nurse).json()
    assert events[-1]["kind"] == "resolved"
    assert events[-1]["actor_user_id"] is None
    assert events[-1]["note"].startswith("resolved automatically")
    # Another care team's nurse sees none of it.
    assert client.get("/api/v1/alerts", headers=world.headers("clinician", "b")).json() == []


def test_each_caller_reads_the_explanation_in_their_language_and_odd_headers_change_nothing(
    client: httpx.Client, world: World
) -> None:
    """The language comes from ?lang=, the vigil_lang cookie or Accept-Language; the read
    cache keeps one body per language; a malformed or hostile language is the default
    (Korean), never an error or another caller's words."""
    from datetime import UTC, datetime

    from vigil.clinical import CarePlan, Metric
    from vigil.streaming.base import Observation
    from vigil.streaming.thresholds import SpO2Low

    now = datetime.now(UTC)
    obs = Observation(
        world.a.patient, now, Metric.SPO2, 85.0, "ox-1", now, CarePlan.default_for({"copd"}),
        {Metric.SPO2: (now, 85.0)},
    )  # fmt: skip
    found = SpO2Low().score_one(obs)
    assert found is not None
    with world.conn() as conn:
        AlertService().apply(conn, [found])
    ko = "산소포화도 85%, 환자 기준(88%) 미만입니다."
    en = "SpO2 85%, below the patient's 88% threshold."
    nurse = world.headers("clinician")

    def sentence(headers: dict[str, str] | None = None, **params: str) -> str:
        r = client.get("/api/v1/alerts", headers={**nurse, **(headers or {})}, params=params)
        assert r.status_code == 200, r.text
        [alert] = r.json()
        assert alert["explanation_en"] == en
        return str(alert["explanation"]["sentence"])

    for _ in range(2):  # the second round is served from the read cache
        assert sentence({"Accept-Language": "ko-KR,ko;q=0.9"}) == ko
        assert sentence({"Accept-Language": "en-US"}) == en
        assert sentence({"Accept-Language": "fr-FR, en;q=0.5"}) == en
        assert sentence({"Accept-Language": "ko;q=0, en;q=0.1"}) == en
    assert sentence() == ko  # no preference: Korean, the first users' language
    assert sentence({"Accept-Language": "en"}, lang="ko") == ko
    assert sentence({"Cookie": "vigil_lang=en"}) == en
    for odd in ("<script>", "ko-KR", "../en", "en\u200b", "x" * 4000):
        assert sentence({"Accept-Language": "de"}, lang=odd) == ko
    for header in ("en;q=NaN", "en;q=2", ";;;,,,", "en;q=-1, ko", ",".join(["zz"] * 5000)):
        assert sentence({"Accept-Language": header}) == ko
    # An action's answer (the change it made) is in the caller's language too.
    [alert] = client.get("/api/v1/alerts", headers=nurse).json()
    r = client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge",
        json={},
        headers={**nurse, "Accept-Language": "ko"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["explanation"], r.json()["explanation_en"]) == (ko, en)
