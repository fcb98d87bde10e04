"""Real clients: py-nightscout (the follower Home Assistant uses) as a follower, and AAPS's API
v3 calls (status, lastModified, create, search, history, patch, delete, profile) replayed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import py_nightscout

from tests.api.nightscout.conftest import Site
from tests.api.nightscout.uploaders import aaps_entry, aaps_treatment, xdrip_headers, xdrip_sgv


def test_py_nightscout_follows_with_the_secret_and_the_token(site: Site) -> None:
    me = site.mine
    t = datetime.now(UTC).replace(microsecond=0)
    entries = [
        xdrip_sgv(t - timedelta(minutes=5 * i), 140 - 2 * i, delta=2.0, direction="FortyFiveUp")
        for i in range(5)
    ]
    assert (
        site.api.post(
            f"{me.url}/api/v1/entries", json=entries, headers=xdrip_headers(me.api_secret)
        ).status_code
        == 200
    )
    # An entry without delta (nightscout-connect's): py-nightscout would crash on it from a
    # server that does not fill it in.
    bare = {
        "type": "sgv",
        "sgv": 150,
        "date": int(t.timestamp() * 1000) + 60_000,
        "dateString": (t + timedelta(minutes=1)).isoformat(),
    }
    assert (
        site.api.post(
            f"{me.url}/api/v1/entries", json=[bare], headers=xdrip_headers(me.api_secret)
        ).status_code
        == 200
    )

    async def follow(
        secret: str,
    ) -> tuple[list[py_nightscout.models.SGV], py_nightscout.models.ServerStatus]:
        api = py_nightscout.Api(me.url, api_secret=secret)
        return await api.get_sgvs(), await api.get_server_status()

    for secret in (me.api_secret, f"token={me.access_token}"):
        sgvs, status = asyncio.run(follow(secret))
        assert status.status == "ok"
        assert status.apiEnabled is True
        assert [s.sgv for s in sgvs][:3] == [150, 140, 138]
        assert sgvs[0].delta == 10.0
        assert sgvs[0].direction == "NONE"
        assert sgvs[1].delta == 2.0
        assert sgvs[1].direction == "FortyFiveUp"
        assert sgvs[1].date == t  # the +0900 dateString read as the same instant


def jwt_headers(site: Site) -> dict[str, str]:
    answer = site.api.get(f"{site.mine.url}/api/v2/authorization/request/{site.mine.access_token}")
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_aaps_v3_round_trip(site: Site) -> None:
    me, v3 = site.mine, f"{site.mine.url}/api/v3"
    bearer = jwt_headers(site)
    t = datetime.now(UTC).replace(microsecond=0)
    assert site.api.get(f"{v3}/status", headers=xdrip_headers(me.api_secret)).status_code == 401
    status = site.api.get(f"{v3}/status", headers=bearer).json()["result"]
    assert status["apiVersion"].startswith("3.")
    assert status["apiPermissions"]["entries"] == "crud"
    before = site.api.get(f"{v3}/lastModified", headers=bearer).json()["result"]
    assert before["collections"] == {}

    for i in range(3):
        made = site.api.post(
            f"{v3}/entries",
            json=aaps_entry(t - timedelta(minutes=5 * i), f"aaps-sgv-{i}", 130 + i),
            headers=bearer,
        )
        assert made.status_code == 201, made.text
    repeat = site.api.post(
        f"{v3}/entries", json=aaps_entry(t, "aaps-sgv-other", 130), headers=bearer
    )
    assert repeat.status_code == 200
    assert repeat.json()["isDeduplication"] is True
    assert [v for _, v in site.readings(me.patient_id, "glucose")] == [132, 131, 130]
    newest = site.api.get(f"{v3}/entries?sort$desc=date&type=sgv", headers=bearer).json()["result"]
    assert [e["identifier"] for e in newest] == ["aaps-sgv-0", "aaps-sgv-1", "aaps-sgv-2"]
    since = int((t - timedelta(minutes=6)).timestamp() * 1000)
    newer = site.api.get(f"{v3}/entries?sort=date&date$gt={since}&limit=10", headers=bearer).json()[
        "result"
    ]
    assert [e["sgv"] for e in newer] == [131, 130]

    carbs = aaps_treatment(t, "aaps-carbs-1", carbs=20)
    assert site.api.post(f"{v3}/treatments", json=carbs, headers=bearer).status_code == 201
    modified = site.api.get(f"{v3}/lastModified", headers=bearer).json()["result"]["collections"]
    assert set(modified) == {"entries", "treatments"}
    patched = site.api.patch(
        f"{v3}/treatments/aaps-carbs-1", json={"notes": "lunch"}, headers=bearer
    )
    assert patched.status_code == 200, patched.text
    assert (
        site.api.patch(
            f"{v3}/treatments/aaps-carbs-1", json={"date": 1}, headers=bearer
        ).status_code
        == 400
    )
    history = site.api.get(
        f"{v3}/treatments/history/{modified['treatments']}", headers=bearer
    ).json()["result"]
    assert [(h["identifier"], h["notes"]) for h in history] == [("aaps-carbs-1", "lunch")]
    assert site.api.delete(f"{v3}/treatments/aaps-carbs-1", headers=bearer).status_code == 200
    assert site.api.get(f"{v3}/treatments/aaps-carbs-1", headers=bearer).status_code == 410
    deleted = site.api.get(f"{v3}/treatments/history/0", headers=bearer).json()["result"]
    assert [(h["identifier"], h.get("isValid")) for h in deleted] == [("aaps-carbs-1", False)]
    assert [v for _, v in site.readings(me.patient_id, "carbs")] == [20]  # a reading stays

    profile = {
        "defaultProfile": "Default",
        "date": int(t.timestamp() * 1000),
        "store": {"Default": {"dia": 5}},
        "units": "mg/dl",
    }
    assert site.api.post(f"{v3}/profile", json=profile, headers=bearer).status_code == 201
    last = site.api.get(f"{v3}/profile?sort$desc=date&limit=1", headers=bearer).json()["result"]
    assert last[0]["store"] == {"Default": {"dia": 5}}
    settings = {"key": "aaps", "date": int(t.timestamp() * 1000), "value": {"units": "mmol"}}
    assert site.api.post(f"{v3}/settings", json=settings, headers=bearer).status_code == 201
    assert site.api.get(f"{v3}/settings", headers=bearer).json()["result"][0]["value"] == {
        "units": "mmol"
    }

    # Another patient's JWT reads nothing of this patient's, and cannot delete it.
    other = site.api.get(
        f"{site.theirs.url}/api/v2/authorization/request/{site.theirs.access_token}"
    ).json()["token"]
    theirs = {"Authorization": f"Bearer {other}"}
    assert site.api.get(f"{v3}/entries", headers=theirs).json()["result"] == []
    assert site.api.get(f"{v3}/entries/aaps-sgv-0", headers=theirs).status_code == 404
    assert site.api.delete(f"{v3}/entries/aaps-sgv-0", headers=theirs).status_code == 404
    assert site.api.get(f"{v3}/entries/aaps-sgv-0", headers=bearer).status_code == 200
    # A forged or altered JWT is a 401.
    token = bearer["Authorization"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert site.api.get(f"{v3}/status", headers={"Authorization": forged}).status_code == 401
    assert site.api.get(f"{v3}/unknown", headers=bearer).status_code == 422
