"""Nightscout API v1 against replayed uploader shapes, and every field an uploader sets abused."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.nightscout.conftest import Site
from tests.api.nightscout.uploaders import (
    connect_entry,
    gz,
    loop_bolus,
    loop_devicestatus,
    xdrip_headers,
    xdrip_sgv,
)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def test_entries_are_stored_once_with_rejected_ones_named(site: Site) -> None:
    me, t = site.mine, now()
    upload = [
        xdrip_sgv(t - timedelta(minutes=10), 110),
        {**xdrip_sgv(t - timedelta(minutes=5), 105), "sgv": "105"},  # a string, not a number
        xdrip_sgv(t - timedelta(minutes=4), 5),  # a Dexcom error code
        {**xdrip_sgv(t - timedelta(minutes=3), 39)},  # LOW
        {**xdrip_sgv(t - timedelta(minutes=2), 100), "dateString": "yesterday"},
        xdrip_sgv(t + timedelta(days=2), 100),  # the phone's clock is two days ahead
        {
            "type": "mbg",
            "mbg": 6.1,
            "units": "mmol",
            "date": int((t - timedelta(minutes=1)).timestamp() * 1000),
        },
        "not an object",
    ]
    answer = site.api.post(
        f"{me.url}/api/v1/entries", json=upload, headers=xdrip_headers(me.api_secret)
    )
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert answer.headers["X-Vigil-Rejected"] == "5"
    assert "_id" in got[0]
    assert "_id" in got[3]
    assert "_id" in got[6]
    reasons = {i: got[i]["vigil_rejected"]["reason"] for i in (1, 2, 4, 5, 7)}
    assert "sgv must be a number, not a string" in reasons[1]
    assert "error code" in reasons[2]
    assert "not an ISO 8601" in reasons[4]
    assert "in the future" in reasons[5]
    assert "is an object" in reasons[7]
    stored = site.readings(me.patient_id, "glucose")
    assert [v for _, v in stored] == [110, 40, round(6.1 * 18.016, 2)]
    # Every rejection is kept with its reason (translation's and the contract's alike).
    kept = site.rejected(me.device_id)
    assert len(kept) == 5
    assert any("in the future" in r for r in kept)
    again = site.api.post(
        f"{me.url}/api/v1/entries", json=upload, headers=xdrip_headers(me.api_secret)
    )
    assert again.status_code == 200
    assert site.readings(me.patient_id, "glucose") == stored
    assert len(site.rejected(me.device_id)) == 5  # a replayed rejection is kept once


def test_a_follower_finds_by_date_sgv_and_type(site: Site) -> None:
    me, t = site.mine, now()
    # Without a delta (as nightscout-connect sends): the follower's delta is computed.
    entries = [
        {k: v for k, v in xdrip_sgv(t - timedelta(minutes=5 * i), 100 + i).items() if k != "delta"}
        for i in range(10)
    ]
    entries.append(connect_entry(t - timedelta(minutes=51), 180))
    sent = site.api.post(
        f"{me.url}/api/v1/entries", json=entries, headers=xdrip_headers(me.api_secret)
    )
    assert sent.status_code == 200
    token = {"token": me.access_token}
    since = (t - timedelta(minutes=12)).isoformat()
    recent = site.api.get(
        f"{me.url}/api/v1/entries/sgv.json", params={**token, "find[dateString][$gte]": since}
    ).json()
    assert [e["sgv"] for e in recent] == [100, 101, 102]
    high = site.api.get(
        f"{me.url}/api/v1/entries.json", params={**token, "find[sgv][$gt]": "108", "count": "50"}
    ).json()
    assert [e["sgv"] for e in high] == [109, 180]
    by_ms = site.api.get(
        f"{me.url}/api/v1/entries.json",
        params={
            **token,
            "find[date][$lt]": str(int((t - timedelta(minutes=44)).timestamp() * 1000)),
        },
    ).json()
    assert [e["sgv"] for e in by_ms] == [109, 180]
    current = site.api.get(f"{me.url}/api/v1/entries/current", params=token).json()
    assert [e["sgv"] for e in current] == [100]
    assert current[0]["delta"] == -1.0
    pebble = site.api.get(f"{me.url.removesuffix('/ns')}/ns/pebble", params=token).json()
    assert pebble["bgs"][0]["sgv"] == "100"
    assert pebble["bgs"][0]["direction"] == "Flat"


def test_treatments_upsert_and_delete_and_feed_readings(site: Site) -> None:
    me, t = site.mine, now()
    bolus = loop_bolus(t - timedelta(minutes=30), "loop-0001", 2.0)
    url = f"{me.url}/api/v1/treatments"
    for _ in range(2):
        assert (
            site.api.post(url, json=[bolus], headers=xdrip_headers(me.api_secret)).status_code
            == 200
        )
    listed = site.api.get(url, headers=xdrip_headers(me.api_secret)).json()
    assert [x["_id"] for x in listed] == ["loop-0001"]
    note = {
        "eventType": "Note",
        "notes": "walk",
        "created_at": (t - timedelta(minutes=3)).isoformat(),
    }
    site.api.put(url, json=note, headers=xdrip_headers(me.api_secret))
    site.api.put(url, json={**note, "notes": "long walk"}, headers=xdrip_headers(me.api_secret))
    notes = [
        x
        for x in site.api.get(url, headers=xdrip_headers(me.api_secret)).json()
        if x["eventType"] == "Note"
    ]
    assert [x["notes"] for x in notes] == ["long walk"]  # (created_at, eventType) is its key
    assert [v for _, v in site.readings(me.patient_id, "insulin")] == [2.0]
    gone = site.api.delete(f"{url}/loop-0001", headers=xdrip_headers(me.api_secret))
    assert gone.status_code == 200
    assert [x["_id"] for x in site.api.get(url, headers=xdrip_headers(me.api_secret)).json()] == [
        notes[0]["_id"]
    ]
    assert (
        site.api.delete(f"{url}/loop-0001", headers=xdrip_headers(me.api_secret)).status_code == 404
    )


def test_devicestatus_is_never_deduplicated_and_activity_heart_rate_is_a_reading(
    site: Site,
) -> None:
    me, t = site.mine, now()
    status = loop_devicestatus(t)
    for _ in range(2):
        sent = site.api.post(
            f"{me.url}/api/v1/devicestatus", json=status, headers=xdrip_headers(me.api_secret)
        )
        assert sent.status_code == 200
    listed = site.api.get(
        f"{me.url}/api/v1/devicestatus.json", headers=xdrip_headers(me.api_secret)
    ).json()
    assert len(listed) == 2
    activity = [
        {
            "type": "hr-bpm",
            "timeStamp": int(t.timestamp() * 1000),
            "created_at": t.isoformat(),
            "bpm": 72,
        },
        {
            "type": "steps-total",
            "timeStamp": int(t.timestamp() * 1000),
            "created_at": t.isoformat(),
            "steps": 4200,
        },
        {"type": "hr-bpm", "timeStamp": int(t.timestamp() * 1000) - 60000, "bpm": 900},
    ]
    sent = site.api.post(
        f"{me.url}/api/v1/activity", json=activity, headers=xdrip_headers(me.api_secret)
    )
    assert sent.status_code == 200
    assert sent.headers["X-Vigil-Rejected"] == "1"
    assert (
        "outside the physiologically possible range" in sent.json()[2]["vigil_rejected"]["reason"]
    )
    assert [v for _, v in site.readings(me.patient_id, "heart_rate")] == [72]


def test_status_and_verifyauth_need_a_credential(site: Site) -> None:
    me = site.mine
    assert site.api.get(f"{me.url}/api/v1/status.json").status_code == 401
    ok = site.api.get(f"{me.url}/api/v1/status.json", headers=xdrip_headers(me.api_secret)).json()
    assert ok["status"] == "ok"
    assert ok["apiEnabled"] is True
    auth = site.api.get(f"{me.url}/api/v1/verifyauth", params={"token": me.access_token}).json()
    assert auth["message"]["canWrite"] is True
    sha512 = __import__("hashlib").sha512(me.api_secret.encode()).hexdigest()
    assert (
        site.api.get(f"{me.url}/api/v1/verifyauth", headers={"api-secret": sha512}).status_code
        == 200
    )
    as_token = {"api-secret": f"token={me.access_token}"}  # py-nightscout's form
    assert site.api.get(f"{me.url}/api/v1/verifyauth", headers=as_token).status_code == 200
    # The clear secret, the digest stored, a token as a secret: none is a credential.
    for wrong in (me.api_secret, "0" * 40, me.access_token):
        assert (
            site.api.get(f"{me.url}/api/v1/verifyauth", headers={"api-secret": wrong}).status_code
            == 401
        )


def test_gzip_bodies_and_a_gzip_bomb(site: Site) -> None:
    me, t = site.mine, now()
    sent = site.api.post(
        f"{me.url}/api/v1/entries",
        content=gz([xdrip_sgv(t, 99)]),
        headers=xdrip_headers(me.api_secret, gzipped=True),
    )
    assert sent.status_code == 200
    assert "_id" in sent.json()[0]
    assert sent.headers["Accept-Encoding"] == "gzip"  # what xDrip+ looks for
    bomb = gzip.compress(b"[" + b" " * 50_000_000 + b"]")  # 50 MB of spaces in ~50 kB
    assert len(bomb) < 100_000
    refused = site.api.post(
        f"{me.url}/api/v1/entries", content=bomb, headers=xdrip_headers(me.api_secret, gzipped=True)
    )
    assert refused.status_code == 413
    broken = site.api.post(
        f"{me.url}/api/v1/entries",
        content=b"not gzip",
        headers=xdrip_headers(me.api_secret, gzipped=True),
    )
    assert broken.status_code == 400
    assert (
        site.api.get(
            f"{me.url}/api/v1/verifyauth", headers=xdrip_headers(me.api_secret)
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"count": "999999999"}, 200),
        ({"count": "-1"}, 400),
        ({"count": "1e9"}, 400),
        ({"find[sgv][$regex]": ".*"}, 400),
        ({"find[$where]": "1"}, 400),
        ({"find[type]": "^sgv.*$"}, 200),
        ({"find[patient_id]": "x"}, 400),
        ({"find[sgv][$gt]": "abc"}, 400),
        ({"find[sgv][$gt]": "NaN"}, 400),
        ({"find[dateString][$gte]": "2026-13-45"}, 400),
        ({"find[date][$gte]": "9" * 40}, 400),
        ({"find[type]": "x" * 500}, 400),
    ],
)
def test_find_and_count_abuse(site: Site, params: dict[str, str], status: int) -> None:
    me, t = site.mine, now()
    site.api.post(
        f"{me.url}/api/v1/entries", json=[xdrip_sgv(t, 120)], headers=xdrip_headers(me.api_secret)
    )
    answer = site.api.get(
        f"{me.url}/api/v1/entries.json", params={**params, "token": me.access_token}
    )
    assert answer.status_code == status, answer.text
    if status == 200:
        assert isinstance(answer.json(), list)
        assert len(answer.json()) <= 1
        if "find[type]" in params:
            assert answer.json() == []  # a pattern is compared as a literal string


def test_another_patients_device_sees_nothing_and_cannot_write_for_them(site: Site) -> None:
    me, them, t = site.mine, site.theirs, now()
    bolus = loop_bolus(t, "mine-0001", 1.0)
    site.api.post(f"{me.url}/api/v1/treatments", json=bolus, headers=xdrip_headers(me.api_secret))
    site.api.post(
        f"{me.url}/api/v1/entries", json=[xdrip_sgv(t, 120)], headers=xdrip_headers(me.api_secret)
    )
    theirs = xdrip_headers(them.api_secret)
    for path in (
        "entries.json",
        "treatments.json",
        "devicestatus.json",
        "entries/current",
        "profile.json",
    ):
        answer = site.api.get(f"{me.url}/api/v1/{path}", headers=theirs)
        assert answer.status_code == 200, path
        assert answer.json() == [], path
    assert (
        site.api.delete(f"{me.url}/api/v1/treatments/mine-0001", headers=theirs).status_code == 404
    )
    # A document naming my identifiers or my patient only ever lands with their patient.
    forged = {**bolus, "patient_id": str(me.patient_id), "device": me.device_id}
    site.api.post(f"{me.url}/api/v1/treatments", json=forged, headers=theirs)
    mine = site.api.get(
        f"{me.url}/api/v1/treatments.json", headers=xdrip_headers(me.api_secret)
    ).json()
    assert [x["insulin"] for x in mine] == [1.0]
    assert "patient_id" not in mine[0]
    assert [v for _, v in site.readings(them.patient_id, "insulin")] == [1.0]
    assert [v for _, v in site.readings(me.patient_id, "insulin")] == [1.0]


def test_a_revoked_device_and_a_wrong_secret_are_401_and_guessing_is_throttled(site: Site) -> None:
    me = site.mine
    with site.world.conn() as conn:
        from vigil.storage import admin

        admin.revoke_device(conn, device_id=me.device_id)
    for headers, params in (
        (xdrip_headers(me.api_secret), {}),
        ({}, {"token": me.access_token}),
    ):
        answer = site.api.get(f"{me.url}/api/v1/entries.json", headers=headers, params=params)
        assert answer.status_code == 401
    jwt = site.api.get(f"{me.url}/api/v2/authorization/request/{me.access_token}")
    assert jwt.status_code == 401
    codes = [
        site.api.get(
            f"{me.url}/api/v1/verifyauth", headers=xdrip_headers(f"guess-{i:08d}")
        ).status_code
        for i in range(8)
    ]
    # Three failures above (the revoked secret, token and JWT exchange), then these.
    assert codes[0] == 401
    assert 429 in codes
    assert codes[-1] == 429
    # The other patient's app, from the same address, waits too (one address guessing).
    waited = site.api.get(
        f"{me.url}/api/v1/verifyauth", headers=xdrip_headers(site.theirs.api_secret)
    )
    assert waited.status_code == 429
    assert int(waited.headers["Retry-After"]) >= 1


def test_wrong_types_in_documents_are_rejected_with_reasons(site: Site) -> None:
    me, t = site.mine, now()
    ms = int(t.timestamp() * 1000)
    docs = [
        {"type": "sgv", "sgv": True, "date": ms},
        {"type": "sgv", "sgv": [120], "date": ms - 1000},
        {"type": {"$ne": 1}, "sgv": 120, "date": ms - 2000},
        {"type": "sgv", "sgv": 120, "date": "1e400"},
        {"type": "sgv", "sgv": 120},
        {"type": "sgv", "sgv": 10**30, "date": ms - 3000},
        {"type": "sgv", "sgv": 120, "date": ms - 4000, "identifier": "x" * 1000},
    ]
    answer = site.api.post(
        f"{me.url}/api/v1/entries", content=json.dumps(docs), headers=xdrip_headers(me.api_secret)
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Vigil-Rejected"] == str(len(docs))
    assert site.readings(me.patient_id, "glucose") == []
    for body in (b"{", b"[" * 100_000 + b"]" * 100_000, b'"just a string"', b"[1e999999]"):
        bad = site.api.post(
            f"{me.url}/api/v1/entries", content=body, headers=xdrip_headers(me.api_secret)
        )
        assert bad.status_code in (400, 200), body[:20]
        if bad.status_code == 200:
            assert bad.headers["X-Vigil-Rejected"] == "1"
