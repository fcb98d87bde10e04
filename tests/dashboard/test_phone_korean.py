"""The nurse's pages on a phone (390 px wide), in Korean, in Debian's chromium: the inbox, the
triage list, the patient page and its care plan. Explanations, conditions and device kinds in
Korean; nothing wider than the screen, a header that does not break one syllable per line,
triage's cells naming their columns; no serious axe-core violation. Writes the screenshots in
docs/screenshots (the docs show them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World, build_world
from tests.browser import axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from vigil.alerts import AlertService
from vigil.clinical import CarePlan, Metric
from vigil.servers import EmbeddedPostgres
from vigil.storage import admin, rebuild_latest_readings
from vigil.streaming.base import Observation
from vigil.streaming.thresholds import HypertensiveCrisis

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        w = build_world(url)
        with w.conn() as conn:
            cuff = admin.provision_device(conn, tenant_id=w.a.id, kind="bp_cuff")
            admin.assign_device(
                conn,
                device_id=cuff.device_id,
                patient_id=w.a.patient,
                valid_from=NOW - timedelta(days=9),
            )
            for day in range(8):
                t = NOW - timedelta(days=day, hours=2)
                for metric, value in (
                    ("bp_systolic", 148 + day),
                    ("bp_diastolic", 92),
                    ("spo2", 93),
                ):
                    conn.execute(
                        "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                        " received_at) VALUES (%s, %s, %s, %s, %s, %s, now())",
                        (t, w.a.patient, metric, value, "%" if metric == "spo2" else "mm[Hg]",
                         cuff.device_id),
                    )  # fmt: skip
            rebuild_latest_readings(conn)
            plan = CarePlan.default_for({"copd"})
            obs = Observation(
                w.a.patient, NOW, Metric.BP_DIASTOLIC, 109.0, cuff.device_id, NOW, plan,
                {Metric.BP_SYSTOLIC: (NOW, 195.0), Metric.BP_DIASTOLIC: (NOW, 109.0)},
            )  # fmt: skip
            crisis = HypertensiveCrisis().score_one(obs)
            assert crisis is not None
            AlertService().apply(conn, [crisis])
        yield w


def phone(chromium: Browser, base: str, world: World) -> Page:
    context = signed_in(
        chromium, base, world, "clinician", locale="ko-KR", timezone_id="America/New_York"
    )
    page = context.new_page()
    page.set_viewport_size(PHONE)
    return page


def fits(page: Page) -> None:
    """Nothing wider than the screen, the header a few lines high, no serious axe finding."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width} px wide"
    header = page.locator("header.top").bounding_box()
    assert header is not None
    assert header["height"] < 200, header  # a Korean word per line made it 280 px
    assert axe_violations(page) == []


def test_inbox_on_a_phone_in_korean(chromium: Browser, base: str, world: World) -> None:
    page = phone(chromium, base, world)
    page.goto(f"{base}/?lang=ko")
    card = page.locator("#alerts article.alert").first
    expect(card).to_be_visible()
    sentence = card.locator("p").first.inner_text()
    assert sentence == "혈압 195/109 mmHg, 고혈압 위기 기준(180/120 mmHg) 이상입니다."
    expect(card.locator("ul.readings li").nth(1)).to_contain_text("최근 195/109 mmHg")
    fits(page)
    page.screenshot(path=str(SCREENSHOTS / "inbox-ko-phone.png"), full_page=True)
    # One zone per screen: a time typed in a filter is the clinic's (Asia/Seoul, UTC+9), as
    # every time shown, not the browser's.
    assert page.evaluate("() => vigil.messages.zone") == "Asia/Seoul"
    typed = page.evaluate("() => vigil.fromClinicTime('2026-12-07T09:00')")
    assert typed == "2026-12-07T00:00:00.000Z"
    page.context.close()


def test_triage_on_a_phone_in_korean(chromium: Browser, base: str, world: World) -> None:
    page = phone(chromium, base, world)
    page.goto(f"{base}/triage?lang=ko")
    row = page.locator(f"tr[data-patient='{world.a.patient}']")
    expect(row).to_be_visible()
    expect(row.locator(".reason")).to_have_text("고혈압 위기: 혈압 195/109 mmHg")
    expect(row.locator("td").nth(1)).to_have_text("만성폐쇄성폐질환(COPD)")
    label = row.locator("td").nth(2).evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"이유"', label
    fits(page)
    page.screenshot(path=str(SCREENSHOTS / "triage-ko-phone.png"), full_page=True)
    page.context.close()


def test_patient_page_and_care_plan_on_a_phone_in_korean(
    chromium: Browser, base: str, world: World
) -> None:
    page = phone(chromium, base, world)
    page.goto(f"{base}/patients/{world.a.patient}?lang=ko")
    expect(page.locator("#identity")).to_contain_text("만성폐쇄성폐질환(COPD)")
    expect(page.locator("#identity")).to_contain_text("혈압계")
    expect(page.locator("#alerts article.alert p").first).to_contain_text("혈압 195/109 mmHg")
    expect(page.locator("#plan-rows tr").first).to_be_visible()
    fits(page)
    expect(page.locator("svg.chart").first).to_be_visible()
    for chart in page.locator("svg.chart").all():  # date labels side by side, not on each other
        boxes = [b for t in chart.locator(".xtick").all() if (b := t.bounding_box())]
        assert boxes
        for left, right in pairwise(sorted(boxes, key=lambda b: b["x"])):
            assert left["x"] + left["width"] <= right["x"], (left, right)
    page.screenshot(path=str(SCREENSHOTS / "patient-ko-phone.png"), full_page=True)
    plan = page.locator("#plan")
    plan.scroll_into_view_if_needed()
    wrap = plan.locator(".table-wrap")
    widths: dict[str, Any] = wrap.evaluate("w => ({inner: w.scrollWidth, outer: w.clientWidth})")
    assert widths["inner"] <= widths["outer"], widths  # the target columns are not cut off
    plan.screenshot(path=str(SCREENSHOTS / "care-plan-ko-phone.png"))
    page.context.close()


def test_no_explanation_in_the_korean_inbox_is_english(world: World) -> None:
    """The API's side of the inbox above: the stored finding carries its code and values."""
    with world.conn() as conn:
        row = conn.execute(
            "SELECT explanation FROM alerts WHERE patient_id = %s", (world.a.patient,)
        ).fetchone()
    assert row is not None
    assert row[0]["code"] == "hypertensive_crisis"
    assert (row[0]["details"]["systolic"], row[0]["details"]["diastolic"]) == (195.0, 109.0)
