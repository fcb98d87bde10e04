"""The heart-failure weight diary: the day's first weighing, the detectors' own rules replayed
(2 kg in 3 days; well above the usual weight), the days the team had an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from psycopg.types.json import Jsonb

from tests.api.conftest import World

START = datetime(2026, 11, 1, 22, 0, tzinfo=UTC)  # 07:00 in Seoul


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
