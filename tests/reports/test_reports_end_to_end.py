"""The reports' black-box check: a new patient's devices publish 14 days of 5-minute CGM and
8 days of cuff readings over MQTT through the whole pipeline; the AGP and home-BP JSON agree
with this test's own computation (ranges within 0.5 percentage points, mean and percentiles
within 1 mg/dL, GMI within 0.05, BP averages within 0.5 mmHg), the PDF holds the TIR, and a
crisis BP and an urgent low each put an act_now item in the patient's feed within 5 s, in
Korean and in English."""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import psycopg

from tests.api.conftest import LiveServer, _user, build_world
from tests.conftest import Harness
from tests.waiting import wait_for
from vigil.api import Role
from vigil.api import repo as api_repo
from vigil.ingest import DevicePublisher
from vigil.serve import running_stages
from vigil.storage import admin

SEOUL = ZoneInfo("Asia/Seoul")
RANGES = {
    "below_54": lambda v: v < 54,
    "54_69": lambda v: 54 <= v < 70,
    "70_180": lambda v: 70 <= v <= 180,
    "181_250": lambda v: 180 < v <= 250,
    "above_250": lambda v: v > 250,
}


def publish(
    harness: Harness, creds: admin.DeviceCredentials, readings: list[dict[str, Any]]
) -> None:
    pub = DevicePublisher("127.0.0.1", harness.broker.port, creds.device_id, creds.password)
    pub.connect()
    for i in range(0, len(readings), 1000):
        body = json.dumps({"readings": readings[i : i + 1000]}).encode()
        pub.publish(body).wait_for_publish(10)
    pub.close()


def cgm(end: datetime) -> list[tuple[datetime, float | str]]:
    """14 days of 5-minute readings up to ``end``: a daily swing, noise, a night low every
    third day, the sensor's LOW now and then and HIGH after some meals."""
    rnd = random.Random(11)
    start = end - timedelta(days=14)
    out: list[tuple[datetime, float | str]] = []
    for i in range(14 * 288):
        t = start + timedelta(minutes=5 * i)
        hours = 5 * i / 60
        value: float | str = round(150 + 70 * math.sin(2 * math.pi * hours / 24) + rnd.gauss(0, 30))
        if 50 <= hours % 72 < 51:
            value = 50 - i % 4
        if i % 997 == 0:
            value = "LOW"
        elif i % 1009 == 0:
            value = "HIGH"
        elif isinstance(value, float | int):
            value = float(min(max(value, 41), 399))
        out.append((t, value))
    out[-1] = (out[-1][0], 120.0)  # the latest reading normal: no act_now yet
    return out


def number(v: float | str) -> float:
    return 40.0 if v == "LOW" else 400.0 if v == "HIGH" else float(v)


def cuff(first_day: datetime) -> list[tuple[datetime, int, int]]:
    rnd = random.Random(5)
    out = []
    for day in range(8):
        for hour in (7, 21.5):
            for k in range(2):
                t = first_day + timedelta(days=day, hours=hour, minutes=k)
                bump = 20 if day == 0 else 0
                out.append((t, round(rnd.gauss(137 + bump, 9)), round(rnd.gauss(85 + bump, 6))))
    return out


def test_reports_and_act_now_through_the_whole_pipeline(harness: Harness, tmp_path: Path) -> None:
    world = build_world(harness.db_url)
    with psycopg.connect(harness.db_url, autocommit=True) as conn:
        patient = admin.create_patient(
            conn, tenant_id=world.a.id, display_name="김하늘", conditions=["t1d", "hypertension"]
        )
        api_repo.add_team_patient(conn, team_id=world.a.team, patient_id=patient,
                                  tenant_id=world.a.id)  # fmt: skip
        _user(conn, world.a, "new_patient", Role.PATIENT, patient)
        devices = {}
        for kind in ("cgm", "bp_cuff"):
            devices[kind] = admin.provision_device(conn, tenant_id=world.a.id, kind=kind)
            admin.assign_device(conn, device_id=devices[kind].device_id, patient_id=patient,
                                valid_from=datetime.now(UTC) - timedelta(days=20))  # fmt: skip
    harness.sync()

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    end = now - timedelta(minutes=now.minute % 5) - timedelta(minutes=5)
    trace = cgm(end)
    today = now.astimezone(SEOUL).replace(hour=0, minute=0)
    bp_start = today - timedelta(days=9)
    readings = cuff(bp_start)
    nurse = world.headers("clinician")
    me = world.headers("new_patient")

    with (
        running_stages(harness.settings()) as running,
        LiveServer(running.app) as base_url,
        httpx.Client(base_url=base_url, timeout=30) as api,
    ):
        publish(harness, devices["cgm"], [
            {"ts": t.isoformat(), "metric": "glucose", "value": v, "unit": "mg/dL"}
            for t, v in trace
        ])  # fmt: skip
        publish(harness, devices["bp_cuff"], [
            {"ts": t.isoformat(), "metric": "blood_pressure", "systolic": s, "diastolic": d,
             "unit": "mm[Hg]"}
            for t, s, d in readings
        ])  # fmt: skip
        expected = len(trace) + 2 * len(readings)
        wait_for(
            lambda: (
                harness.count("SELECT count(*) FROM readings WHERE patient_id = %s", patient)
                == expected
            ),
            "every published reading stored",
        )

        # -- the AGP against our own computation ------------------------------------------
        period = {"start": (end - timedelta(days=14)).isoformat(),
                  "end": (end + timedelta(minutes=5)).isoformat()}  # fmt: skip
        url = f"/api/v1/patients/{patient}/reports/agp"
        agp = api.get(url, params=period, headers=nurse).json()
        values = np.array([number(v) for _, v in trace])
        assert agp["readings"] == len(trace)
        for key, inside in RANGES.items():
            share = sum(1 for v in values if inside(v)) / len(values)
            assert abs(agp["time_in_ranges"][key] - share) * 100 <= 0.5, key
        assert abs(agp["mean_mg_dl"] - values.mean()) <= 1
        assert abs(agp["gmi_percent"] - (3.31 + 0.02392 * values.mean())) <= 0.05
        assert abs(agp["sd_mg_dl"] - values.std(ddof=1)) <= 1
        slots: dict[int, list[float]] = {}
        for t, v in trace:
            local = t.astimezone(SEOUL)
            slots.setdefault(local.hour * 60 + local.minute // 15 * 15, []).append(number(v))
        for row in agp["profile"]:
            want = np.percentile(slots[row["minute"]], [5, 25, 50, 75, 95])
            got = [row[k] for k in ("p5", "p25", "p50", "p75", "p95")]
            assert max(abs(g - w) for g, w in zip(got, want, strict=True)) <= 1, row

        # -- the PDF holds the TIR ---------------------------------------------------------
        pdf = api.get(url, params=period | {"format": "pdf"}, headers=nurse)
        assert pdf.content.startswith(b"%PDF-")
        (tmp_path / "agp.pdf").write_bytes(pdf.content)
        text = subprocess.run(["pdftotext", str(tmp_path / "agp.pdf"), "-"], check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        assert f"{100 * agp['time_in_ranges']['70_180']:.0f}%" in text
        assert "김하늘" in text

        # -- home BP against our own computation -------------------------------------------
        bp = api.get(f"/api/v1/patients/{patient}/reports/home-bp", headers=nurse, params={
            "start": bp_start.isoformat(), "end": (bp_start + timedelta(days=8)).isoformat()
        }).json()  # fmt: skip
        kept = [r for r in readings if r[0] >= bp_start + timedelta(days=1)]
        sittings = [kept[i : i + 2] for i in range(0, len(kept), 2)]
        means = [(p[0][0], fmean(x[1] for x in p), fmean(x[2] for x in p)) for p in sittings]
        for part, chosen in (
            ("morning", [m for m in means if m[0].astimezone(SEOUL).hour < 12]),
            ("evening", [m for m in means if m[0].astimezone(SEOUL).hour >= 12]),
            ("overall", means),
        ):
            assert abs(bp[part]["systolic"] - fmean(m[1] for m in chosen)) <= 0.5, part
            assert abs(bp[part]["diastolic"] - fmean(m[2] for m in chosen)) <= 0.5, part
        assert bp["days_used"] == 7

        # -- act_now within 5 s, in Korean and in English ----------------------------------
        def act_now(lang: str) -> list[dict[str, Any]]:
            r = api.get("/api/v1/me/feed", params={"lang": lang}, headers=me)
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["act_now"]
            return items

        assert act_now("en") == []
        crisis = datetime.now(UTC)
        crisis_bp = {"ts": crisis.isoformat(), "metric": "blood_pressure", "systolic": 192,
                     "diastolic": 124, "unit": "mm[Hg]"}  # fmt: skip
        publish(harness, devices["bp_cuff"], [crisis_bp])
        [item] = wait_for(lambda: act_now("en"), "the crisis BP's act_now item", timeout=5)
        assert item["kind"] == "bp_crisis"
        assert item["reading"] == "192/124 mmHg"
        assert "119" in item["body"]
        ko = act_now("ko")[0]
        assert re.search("[가-힣]", ko["body"])
        assert ko["reading"] == "192/124 mmHg"

        publish(harness, devices["cgm"], [{"ts": datetime.now(UTC).isoformat(),
                "metric": "glucose", "value": 45, "unit": "mg/dL"}])  # fmt: skip
        items = wait_for(lambda: len(act_now("ko")) == 2 and act_now("ko"),
                         "the urgent low's act_now item", timeout=5)  # fmt: skip
        assert [i["kind"] for i in items] == ["glucose_urgent_low", "bp_crisis"]
        assert re.search("[가-힣]", items[0]["title"])
        assert act_now("en")[0]["title"] == "Your glucose is dangerously low: 45 mg/dL"
