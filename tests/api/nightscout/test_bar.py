"""The issue's bar, as a black box: from the provisioning answer alone, act as xDrip+, a
follower and AAPS against a running Vigil (broker, ingest, stream, detection, alerts, API)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import psycopg

from tests.api.conftest import LiveServer, build_world
from tests.api.nightscout.uploaders import (
    aaps_treatment,
    gz,
    loop_bolus,
    xdrip_headers,
    xdrip_sgv,
    xdrip_treatment,
)
from tests.conftest import Harness
from tests.waiting import wait_for
from vigil.api import repo as api_repo
from vigil.serve import running_stages
from vigil.storage import admin


def provision(api: httpx.Client, headers: dict[str, str], patient: UUID) -> dict[str, Any]:
    """What a clinic's administrator does: provision, then assign from yesterday (the app's
    backlog is the patient's)."""
    made = api.post("/api/v1/devices", headers=headers, json={"kind": "cgm"})
    assert made.status_code == 201, made.text
    creds = made.json()
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assigned = api.post(
        f"/api/v1/devices/{creds['device_id']}/assignments",
        headers=headers,
        json={"patient_id": str(patient), "valid_from": since},
    )
    assert assigned.status_code == 204, assigned.text
    return dict(creds["nightscout"])


def readings(db_url: str, patient: UUID, metric: str) -> list[tuple[datetime, float]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT time, value FROM readings WHERE patient_id = %s AND metric = %s ORDER BY time",
            (patient, metric),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_xdrip_follower_and_aaps_from_the_provisioning_answer(harness: Harness) -> None:
    world = build_world(harness.db_url)
    with psycopg.connect(harness.db_url, autocommit=True) as conn:
        patient = admin.create_patient(
            conn, tenant_id=world.a.id, display_name="CGM patient", conditions=["t1d"]
        )
        api_repo.add_team_patient(
            conn, team_id=world.a.team, patient_id=patient, tenant_id=world.a.id
        )
    with (
        running_stages(harness.settings()) as running,
        LiveServer(running.app) as base_url,
        httpx.Client(base_url=base_url, timeout=20) as api,
    ):
        admin_headers = world.headers("admin")
        ns = provision(api, admin_headers, patient)
        other = provision(api, admin_headers, world.a.other_patient)
        assert ns["url"] == f"{base_url}/ns"
        assert len(ns["api_secret"]) >= 12
        assert ns["xdrip_url"] == ns["url"].replace("://", f"://{ns['api_secret']}@") + "/api/v1/"
        with psycopg.connect(harness.db_url) as conn:  # only digests are kept
            row = conn.execute(
                "SELECT count(*) FROM nightscout_credentials WHERE secret_sha1 = %s",
                (hashlib.sha256(ns["api_secret"].encode()).digest(),),
            ).fetchone()
            assert row == (0,)

        # xDrip+: a gzip backlog with +0900 dateStrings, sent twice.
        now = datetime.now(UTC).replace(microsecond=0)
        backlog = [
            xdrip_sgv(now - timedelta(minutes=5 * i), 126 - i, delta=1.0, direction="Flat")
            for i in range(12, 6, -1)
        ]
        url = f"{ns['url']}/api/v1/entries"
        for _ in range(2):
            sent = api.post(
                url, content=gz(backlog), headers=xdrip_headers(ns["api_secret"], gzipped=True)
            )
            assert sent.status_code == 200, sent.text
            assert sent.headers["X-Vigil-Rejected"] == "0"
        stored = readings(harness.db_url, patient, "glucose")
        assert stored == [(now - timedelta(minutes=5 * i), 126 - i) for i in range(12, 6, -1)]

        # A follower reads them back with delta and direction, by its access token.
        follower = api.get(
            f"{ns['url']}/api/v1/entries.json", params={"count": 3, "token": ns["access_token"]}
        )
        assert follower.status_code == 200, follower.text
        got = follower.json()
        assert [e["sgv"] for e in got] == [119, 118, 117]
        assert [e["dateString"][-5:] for e in got] == ["+0900"] * 3
        assert all(isinstance(e["delta"], float | int) and e["direction"] for e in got)

        # An urgent low uploaded as entries (a CGM's fall, confirmed by a second reading
        # below 54 mg/dL) becomes an alert in the care team's inbox.
        low = [
            xdrip_sgv(now - timedelta(minutes=5 * i), v, delta=-12.0, direction="SingleDown")
            for i, v in zip(range(6, 0, -1), (104, 90, 76, 64, 52, 46), strict=True)
        ]
        sent = api.post(url, json=low, headers=xdrip_headers(ns["api_secret"]))
        assert sent.status_code == 200, sent.text

        def inbox() -> list[dict[str, Any]]:
            answer = api.get(
                "/api/v1/alerts",
                headers=world.headers("clinician"),
                params={"patient_id": str(patient)},
            )
            assert answer.status_code == 200, answer.text
            return [a for a in answer.json() if a["cause"] == "hypoglycemia_urgent"]

        [alert] = wait_for(inbox, "the urgent low in the inbox", timeout=60)
        assert alert["severity"] == "critical"

        # Treatments become carbs and insulin readings (xDrip+ carbs, Loop's bolus).
        treatments = [
            xdrip_treatment(now - timedelta(minutes=20), carbs=45),
            loop_bolus(now - timedelta(minutes=19), "loop-bolus-0001", 3.5),
        ]
        sent = api.post(
            f"{ns['url']}/api/v1/treatments",
            json=treatments,
            headers=xdrip_headers(ns["api_secret"]),
        )
        assert sent.status_code == 200, sent.text
        assert [v for _, v in readings(harness.db_url, patient, "carbs")] == [45]
        assert [v for _, v in readings(harness.db_url, patient, "insulin")] == [3.5]

        # AAPS: the access token for a JWT, then API v3 create and read back.
        jwt = api.get(f"{ns['url']}/api/v2/authorization/request/{ns['access_token']}")
        assert jwt.status_code == 200, jwt.text
        bearer = {"Authorization": f"Bearer {jwt.json()['token']}"}
        status = api.get(f"{ns['url']}/api/v3/status", headers=bearer)
        assert status.status_code == 200
        assert status.json()["result"]["apiPermissions"]["treatments"] == "crud"
        carbs = aaps_treatment(now - timedelta(minutes=2), "6f1b8c3e-aaps-0001", carbs=12)
        made = api.post(f"{ns['url']}/api/v3/treatments", json=carbs, headers=bearer)
        assert made.status_code == 201, made.text
        assert made.json()["identifier"] == "6f1b8c3e-aaps-0001"
        back = api.get(f"{ns['url']}/api/v3/treatments/6f1b8c3e-aaps-0001", headers=bearer)
        assert back.status_code == 200, back.text
        assert back.json()["result"]["carbs"] == 12
        assert sorted(v for _, v in readings(harness.db_url, patient, "carbs")) == [12, 45]
        again = api.post(f"{ns['url']}/api/v3/treatments", json=carbs, headers=bearer)
        assert again.status_code == 200
        assert again.json()["isDeduplication"] is True

        # A wrong secret is a 401; another patient's secret and token see nothing of this one.
        wrong = api.get(url, headers=xdrip_headers("not-the-secret-123"))
        assert wrong.status_code == 401
        theirs = api.get(
            f"{ns['url']}/api/v1/entries.json", headers=xdrip_headers(other["api_secret"])
        )
        assert theirs.status_code == 200
        assert theirs.json() == []
        their_jwt = api.get(f"{ns['url']}/api/v2/authorization/request/{other['access_token']}")
        their_bearer = {"Authorization": f"Bearer {their_jwt.json()['token']}"}
        peek = api.get(f"{ns['url']}/api/v3/treatments/6f1b8c3e-aaps-0001", headers=their_bearer)
        assert peek.status_code == 404
        listed = api.get(
            f"{ns['url']}/api/v1/treatments.json", headers=xdrip_headers(other["api_secret"])
        )
        assert listed.status_code == 200
        assert listed.json() == []
