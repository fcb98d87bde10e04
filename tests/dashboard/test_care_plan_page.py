"""A nurse on the patient page, in Debian's chromium: values read as clinicians write them
(128/82 mmHg, 36.4 °C, 72.1 kg, 95 %, 73 /min, glucose in the unit this browser chose), chart
ticks that never repeat, and a care-plan change: an impossible value refused with a message, a
valid one previewed with the times of the alerts it would add, then saved. No serious axe-core
violation in Korean or English. One server and one browser for the module; screenshots go to
artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.api.conftest import World, build_world
from tests.browser import ARTIFACTS, axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from tests.waiting import wait_for
from vigil.servers import EmbeddedPostgres
from vigil.storage import rebuild_latest_readings

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START = NOW - timedelta(days=5)
# Glucose 95 mg/dL, dipping below the default 70 twice (two alerts) and to 73 and 72, each
# dip more than a day (an episode's end) after the one before.
GLUCOSE = {0: 95, 1: 65, 2: 95, 31: 73, 32: 95, 61: 60, 62: 95, 91: 72, 92: 95, 112: 108}
LAST = {"heart_rate": 72.6, "spo2": 95, "body_weight": 72.1, "body_temperature": 36.4,
        "bp_systolic": 128, "bp_diastolic": 82}  # fmt: skip
UNITS = {"heart_rate": "/min", "spo2": "%", "body_weight": "kg", "body_temperature": "Cel",
         "bp_systolic": "mm[Hg]", "bp_diastolic": "mm[Hg]", "glucose": "mg/dL"}  # fmt: skip


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        w = build_world(url)
        rows: list[tuple[Any, ...]] = [(START + timedelta(hours=h), "glucose", v)
                                       for h, v in GLUCOSE.items()]  # fmt: skip
        for metric, v in LAST.items():
            rows += [(START + timedelta(hours=h), metric, v * 1.02) for h in (0, 30, 60)]
            rows.append((START + timedelta(hours=112), metric, v))
        with w.conn() as conn:
            for t, metric, v in rows:
                conn.execute(
                    "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                    " received_at) VALUES (%s, %s, %s, %s, %s, 'dev-1', now())",
                    (t, w.a.patient, metric, v, UNITS[metric]),
                )
            rebuild_latest_readings(conn)
        yield w


def latest(page: Page, metric: str) -> str:
    return page.locator(f".metric[data-metric={metric}] .latest").inner_text()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_values_read_as_written_and_ticks_never_repeat(
    chromium: Browser, base: str, world: World, lang: str
) -> None:
    context = signed_in(chromium, base, world, "clinician")
    page = context.new_page()
    page.goto(f"{base}/patients/{world.a.patient}?lang={lang}")
    expect(page.locator(".metric[data-metric=bp]")).to_be_visible(timeout=15_000)
    assert "128/82 mmHg" in latest(page, "bp")
    assert page.locator(".metric[data-metric=bp_systolic]").count() == 0
    assert "36.4 °C" in latest(page, "body_temperature")
    assert "72.1 kg" in latest(page, "body_weight")
    assert "95 %" in latest(page, "spo2")
    assert "73 /min" in latest(page, "heart_rate")
    assert "108 mg/dL" in latest(page, "glucose")
    # The COPD default the detectors use (88 %), not a copy of the general one (90 %).
    assert page.locator('[name="threshold.spo2.low"]').get_attribute("placeholder") == "88"
    for chart in page.locator("svg.chart").all():
        ticks = chart.locator(".ytick").all_text_contents()
        assert len(ticks) >= 2, ticks
        assert len(ticks) == len(set(ticks)), ticks
        steps = {round(float(b) - float(a), 6) for a, b in pairwise(ticks)}
        assert len(steps) == 1, ticks  # evenly spaced as written: no label rounded (92.5 -> 93)
        dates = chart.locator(".xtick").all_text_contents()
        assert len(dates) == len(set(dates)), dates
    width = page.locator("svg.chart").first.bounding_box()
    assert width is not None
    assert width["width"] > 1000  # the page's width at 1280 px
    page.select_option("#glucose-unit", "mmol/L")
    expect(page.locator(".metric[data-metric=glucose] .latest")).to_contain_text("6.0 mmol/L")
    page.reload()  # the choice is this browser's and stays
    expect(page.locator(".metric[data-metric=glucose] .latest")).to_contain_text("6.0 mmol/L")
    assert page.locator('[name="threshold.glucose.low"]').get_attribute("placeholder") == "3.9"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"patient-values-{lang}.png"), full_page=True)
    assert axe_violations(page) == []
    page.select_option("#glucose-unit", "mg/dL")
    context.close()


def test_a_plan_change_refused_previewed_and_saved(
    chromium: Browser, base: str, world: World
) -> None:
    context = signed_in(chromium, base, world, "clinician")
    page = context.new_page()
    page.goto(f"{base}/patients/{world.a.patient}?lang=en")
    expect(page.locator(".metric[data-metric=glucose]")).to_be_visible(timeout=15_000)
    low, high = (
        page.locator('[name="threshold.glucose.low"]'),
        page.locator('[name="threshold.glucose.high"]'),
    )
    low.fill("300")
    high.fill("200")
    page.click("#preview")
    expect(page.locator("#plan-msg")).to_contain_text("the lower value must be below")
    expect(low).to_have_attribute("aria-invalid", "true")
    page.locator('[name="threshold.spo2.low"]').fill("120")
    page.click("#preview")
    expect(page.locator("#plan-msg")).to_contain_text("must be between 40 and 100 %")
    page.locator('[name="threshold.spo2.low"]').fill("")
    high.fill("")
    low.fill("75")
    page.select_option("#range", "2")  # the edits stay across a change of chart range
    expect(low).to_have_value("75")
    page.click("#preview")
    msg = page.locator("#plan-msg")
    expect(msg).to_contain_text("4 alerts instead of 2")
    expect(msg).to_contain_text("New: Low glucose")  # the detectors' own cause
    text = msg.inner_text()
    for h in (31, 91):  # the two new alerts, with their times as the page writes them
        when = page.evaluate(
            "(iso) => vigil.dateTime(iso)", (START + timedelta(hours=h)).isoformat()
        )
        assert when in text, (when, text)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "patient-plan-preview-en.png"), full_page=True)
    page.click("#plan button.primary")
    expect(msg).to_contain_text("Saved")
    with httpx.Client(base_url=base, timeout=10) as client:
        plan = client.get(
            f"/api/v1/patients/{world.a.patient}/care-plan", headers=world.headers("clinician")
        ).json()
    assert plan["thresholds"] == {"glucose": {"low": 75, "high": None}}
    page.goto(f"{base}/patients/{world.a.patient}?lang=ko")
    expect(page.locator('[name="threshold.glucose.low"]')).to_have_value("75", timeout=15_000)
    page.click("#preview")
    expect(page.locator("#plan-msg")).to_contain_text("알림 4건")
    assert axe_violations(page) == []
    context.close()


def test_only_the_latest_range_draws_the_charts(chromium: Browser, base: str, world: World) -> None:
    """A nurse picks 30 days, then 2 before the 30 days' rollups have come back: the 30 days'
    late answer must not replace the 2 days drawn (the race triage and the inbox had)."""
    context = signed_in(chromium, base, world, "clinician")
    page = context.new_page()
    page.goto(f"{base}/patients/{world.a.patient}?lang=en")
    charts = page.locator("#charts")
    expect(charts).to_have_attribute("data-days", "7")
    held: list[Route] = []

    def hold_the_30_days(route: Route) -> None:
        if "bucket=6h" in route.request.url:  # 30 days are read in 6-hour buckets
            held.append(route)
        else:
            route.continue_()

    page.route("**/readings/rollup?*", hold_the_30_days)
    page.select_option("#range", "30")
    wait_for(lambda: page.evaluate("1") or len(held) == 8, "the 30 days' 8 rollups held")
    page.select_option("#range", "2")
    expect(charts).to_have_attribute("data-days", "2")
    for route in held:
        route.continue_()
    # Every late answer received and read by the page (a resource entry is written once a
    # body has arrived), then one more round trip: the old page would have drawn 30 by then.
    wait_for(
        lambda: (
            page.evaluate(
                """() => performance.getEntriesByType("resource")
                 .filter((e) => e.name.includes("bucket=6h")).length"""
            )
            == 8
        ),
        "the 30 days' answers arrived",
    )
    page.evaluate("() => new Promise((done) => setTimeout(done, 0))")
    assert charts.get_attribute("data-days") == "2"
    page.unroute("**/readings/rollup?*")
    context.close()
