"""The patient's feed in Debian's chromium: a Korean patient reads the coaching cards in Korean,
worded from the same stored cards as the English, and the language switch redraws them in the
other language. No serious axe-core violation in either. Screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World, build_world
from tests.browser import ARTIFACTS, axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from vigil.servers import EmbeddedPostgres

NOW = datetime.now(UTC).replace(microsecond=0)
BP_KO = (
    "최근 7일 동안 집에서 잰 혈압은 평균 128/82 mmHg였어요(측정 5회). "
    "목표인 135/85 mmHg 미만이에요. 잘하고 계세요."
)
BP_EN = (
    "Your home blood pressure averaged 128/82 mmHg over the last 7 days (5 readings). "
    "That is within your target of under 135/85 mmHg. Well done."
)


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        w = build_world(url)
        with w.conn() as conn:
            rows = [(NOW - timedelta(days=3), "spo2", 95.0, "%")]  # missed since: a reminder
            for d in range(5):
                t = NOW - timedelta(days=d, minutes=1)
                rows += [(t, "bp_systolic", 128.0, "mm[Hg]"), (t, "bp_diastolic", 82.0, "mm[Hg]")]
            for t, metric, value, unit in rows:
                conn.execute(
                    "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                    " received_at) VALUES (%s, %s, %s, %s, %s, 'dev-1', now())",
                    (t, w.a.patient, metric, value, unit),
                )
        yield w


def shot_and_axe(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    found = axe_violations(page)
    assert not found, (name, found)


def test_a_korean_patient_reads_korean_cards_and_the_switch_redraws_them(
    chromium: Browser, base: str, world: World
) -> None:
    context = signed_in(chromium, base, world, "patient", height=844, locale="ko-KR")
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{base}/feed")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    week = page.locator("#items [data-kind=bp_week]")
    expect(week.locator("h2")).to_have_text("이번 주 혈압")
    expect(week.locator("p")).to_have_text(BP_KO)
    expect(week).to_have_attribute("lang", "ko")
    expect(page.locator("#items [data-kind=streak] h2")).to_have_text("5일 연속 측정")
    expect(page.locator("#items [data-kind=reminder] p")).to_contain_text(
        "이후로 산소포화도 기록이 없어요. 오늘 잠시 시간 나실 때 산소포화도를 재 주세요."
    )
    expect(page.locator("#items")).not_to_contain_text("blood pressure")
    shot_and_axe(page, "feed-cards-ko")

    page.click("nav.langs a[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(week.locator("h2")).to_have_text("Your blood pressure this week")
    expect(week.locator("p")).to_have_text(BP_EN)
    expect(page.locator("#items [data-kind=reminder] p")).to_contain_text(
        "When you have a moment today, please check your oxygen level."
    )
    expect(page.locator("#items")).not_to_contain_text("혈압")
    shot_and_axe(page, "feed-cards-en")

    # English sticks (the cookie) on the next visit; Korean again at a click.
    page.goto(f"{base}/feed")
    expect(week.locator("p")).to_have_text(BP_EN)
    page.click("nav.langs a[lang=ko]")
    expect(week.locator("p")).to_have_text(BP_KO)
    context.close()
