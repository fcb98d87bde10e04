"""The reports' pages in Chromium: a patient's AGP (Korean and English), home BP and weight
diary (Korean and English, fitting a 360 px phone), the clinic list sorted by a click, the
patient's phone feed with an act-now item and their own AGP and weight diary; axe finds no
serious violation. Screenshots (and the PDFs' first pages) go to artifacts/."""

from __future__ import annotations

import math
import random
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World, build_world
from tests.browser import ARTIFACTS, axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from tests.storing import store_as_ingest
from vigil.core.metrics import Metric
from vigil.core.models import StoredReading
from vigil.servers import EmbeddedPostgres


def _history(world: World) -> None:
    """14 days of CGM and a week of cuff readings up to now for the team's patient; a week of
    CGM for the other patient; then an urgent low for the team's patient."""
    now = datetime.now(UTC).replace(microsecond=0)
    rnd = random.Random(4)
    rows = []
    for patient, days, swing in ((world.a.patient, 14, 80), (world.a.other_patient, 7, 30)):
        for i in range(days * 288):
            t = now - timedelta(minutes=5 * (days * 288 - i))
            v = 150 + swing * math.sin(2 * math.pi * i / 288) + rnd.gauss(0, 25)
            value = float(min(max(round(v), 40), 400))
            rows.append(
                StoredReading(t, patient, Metric.GLUCOSE, value, f"cgm-{patient.hex[:6]}", t)
            )
    for day in range(8):
        for hour in (-14, -2):  # Seoul 07:00-ish and 19:00-ish for a UTC+9 clinic
            t = now.replace(hour=0, minute=0, second=0) - timedelta(days=day, hours=hour)
            if t >= now:
                continue
            s, d = round(rnd.gauss(138, 8)), round(rnd.gauss(86, 5))
            rows.append(StoredReading(t, world.a.patient, Metric.BP_SYSTOLIC, s, "cuff", t))
            rows.append(StoredReading(t, world.a.patient, Metric.BP_DIASTOLIC, d, "cuff", t))
    rows.append(StoredReading(now, world.a.patient, Metric.GLUCOSE, 50.0, "meter", now))
    rows += _weighings(world, now)
    with psycopg.connect(world.db_url) as conn:
        store_as_ingest(conn, rows)
        conn.execute("UPDATE patients SET conditions = '{copd,heart_failure}' WHERE id = %s",
                     (world.a.patient,))  # fmt: skip
        alert_at = now - timedelta(days=1)
        conn.execute(
            "INSERT INTO alerts (tenant_id, patient_id, cause, episode, causes, detector, state,"
            " severity, first_seen, last_seen, explanation) VALUES (%s, %s, 'hf_decompensation',"
            " 'hf_decompensation', '{hf_decompensation}', 'hf_weight_gain', 'open', 2, %s, %s,"
            " '{}')",
            (world.a.id, world.a.patient, alert_at, alert_at),
        )
        conn.commit()


def _weighings(world: World, now: datetime) -> list[StoredReading]:
    """Two months of morning weighings for the team's patient (a heart-failure patient too):
    steady about 72 kg, then a gain of 0.8 kg a day over the last four days; two days missed."""
    out = []
    for day in range(60, 0, -1):
        if day in (9, 17):
            continue
        t = now - timedelta(days=day, hours=2)
        kg = 72.0 + 0.2 * math.sin(day) if day > 4 else 72.0 + 0.8 * (5 - day)
        out.append(StoredReading(t, world.a.patient, Metric.BODY_WEIGHT, round(kg, 1), "scale", t))
    return out


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        w = build_world(url)
        _history(w)
        yield w


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    found = axe_violations(page)
    assert not found, (name, found)


def open_report(
    chromium: Browser, base: str, world: World, lang: str, kind: str, title: dict[str, str]
) -> Page:
    """The team's patient's page in ``lang``, then its link to the report, until the report's
    chart is drawn under its title."""
    page = signed_in(chromium, base, world, "clinician").new_page()
    page.goto(f"{base}/patients/{world.a.patient}?lang={lang}")
    page.click(f"a[href='/patients/{world.a.patient}/reports/{kind}']")
    expect(page.locator(".report svg").first).to_be_visible(timeout=15_000)
    expect(page.locator(".report h1")).to_have_text(title[lang])
    return page


def save_pdf(page: Page, base: str, name: str) -> None:
    """The page's PDF link, fetched: a PDF, its first page as a PNG in artifacts/."""
    pdf = page.locator("#pdf").get_attribute("href")
    assert pdf is not None
    assert "format=pdf" in pdf
    r = page.request.get(f"{base}{pdf}" if pdf.startswith("/") else pdf)
    assert r.headers["content-type"] == "application/pdf"
    (ARTIFACTS / f"{name}.pdf").write_bytes(r.body())
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-singlefile", str(ARTIFACTS / f"{name}.pdf"),
                    str(ARTIFACTS / f"{name}-pdf")], check=True)  # fmt: skip
    assert (ARTIFACTS / f"{name}-pdf.png").stat().st_size > 20_000


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_agp_page(chromium: Browser, base: str, world: World, lang: str) -> None:
    title = {"ko": "연속혈당 프로파일(AGP)", "en": "Ambulatory glucose profile (AGP)"}
    page = open_report(chromium, base, world, lang, "agp", title)
    expect(page.locator(".report.agp svg.agp-profile")).to_be_visible()
    expect(page.locator(".report .days li")).to_have_count(15)  # 14 days and today's start
    tir = page.locator("[data-range='70_180']").inner_text()
    assert tir.endswith("%")
    shot(page, f"agp-{lang}")
    if lang == "en":
        save_pdf(page, base, "agp")


def test_the_home_bp_page(chromium: Browser, base: str, world: World) -> None:
    page = signed_in(chromium, base, world, "clinician").new_page()
    page.goto(f"{base}/patients/{world.a.patient}/reports/home-bp?lang=en")
    expect(page.locator(".report.bp [data-average='overall']")).to_have_text(
        __import__("re").compile(r"^\d+/\d+$"), timeout=15_000
    )
    shot(page, "home-bp-en")


WIDEST = """[...document.querySelectorAll('.report *')].filter((e) =>
  e.getBoundingClientRect().right > 361).slice(0, 6).map((e) => e.tagName + '.'
  + e.getAttribute('class') + ' ' + Math.round(e.getBoundingClientRect().right))"""


def fits(page: Page, width: int = 360) -> None:
    """Nothing of the report wider than the screen (its frame would scroll, sideways)."""
    page.set_viewport_size({"width": width, "height": 800})
    frame = page.locator("#report")
    scroll = frame.evaluate("(e) => e.scrollWidth - e.clientWidth")
    document = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= 0, page.evaluate(WIDEST)
    assert document <= width, page.evaluate(WIDEST)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_hf_weight_page(chromium: Browser, base: str, world: World, lang: str) -> None:
    title = {"ko": "심부전 체중 일지", "en": "Heart-failure weight diary"}
    page = open_report(chromium, base, world, lang, "hf-weight", title)
    expect(page.locator(".report.hf svg.hf-weight")).to_be_visible()
    # 30 days: the usual weight's band drawn for every one of them (one run of steps), the
    # diary a row a day (the 31st is today's start), the gain drawn where it fired.
    expect(page.locator(".report svg .usual-band")).to_have_count(1)
    band = page.locator(".report svg .usual-band").get_attribute("d")
    assert band is not None
    assert band.count("L") == 2 * 2 * 31 - 1
    expect(page.locator(".report .hf-days tr:has(td)")).to_have_count(31)
    expect(page.locator(".report svg .gain").first).to_be_attached()
    expect(page.locator(".report svg .alert-day")).to_have_count(1)
    expect(page.locator("[data-figure='latest']")).to_have_text("75.2 kg")
    shot(page, f"hf-weight-{lang}")
    if lang == "en":
        save_pdf(page, base, "hf-weight")
    fits(page)
    assert not axe_violations(page)


def test_the_weight_diary_is_linked_only_for_heart_failure_or_weighings(
    chromium: Browser, base: str, world: World
) -> None:
    page = signed_in(chromium, base, world, "admin").new_page()  # not in the nurse's team
    page.goto(f"{base}/patients/{world.a.other_patient}?lang=en")
    expect(page.locator("#charts .metric[data-metric='glucose']")).to_be_visible(timeout=15_000)
    link = page.locator(f"a[href='/patients/{world.a.other_patient}/reports/hf-weight']")
    expect(link).to_be_hidden()
    expect(page.locator(f"a[href='/patients/{world.a.other_patient}/reports/agp']")).to_be_visible()


def phone_feed(chromium: Browser, base: str, world: World, lang: str, width: int) -> Page:
    """The team's patient's feed on a phone ``width`` px wide."""
    page = signed_in(chromium, base, world, "patient", is_mobile=True).new_page()
    page.set_viewport_size({"width": width, "height": 844})
    page.goto(f"{base}/feed?lang={lang}")
    return page


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_patients_own_weight_diary_on_the_phone(
    chromium: Browser, base: str, world: World, lang: str
) -> None:
    page = phone_feed(chromium, base, world, lang, 360)
    page.click("a[href='/feed/reports/hf-weight']")
    expect(page.locator(".report.hf svg.hf-weight")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-figure='latest']")).to_have_text("75.2 kg")
    fits(page)
    shot(page, f"feed-hf-weight-{lang}")


def test_the_clinic_list_sorts(chromium: Browser, base: str, world: World) -> None:
    page = signed_in(chromium, base, world, "admin").new_page()
    page.goto(f"{base}/reports/clinic?lang=ko")
    rows = page.locator("#clinic-rows tr")
    expect(rows).to_have_count(2, timeout=15_000)
    first = str(world.a.patient)  # the wider swing: less time in range, first by default
    expect(rows.first).to_have_attribute("data-patient", first)
    page.click("button[data-sort='tir']")  # again: the highest time in range first
    expect(rows.first).to_have_attribute("data-patient", str(world.a.other_patient))
    expect(page.locator("button[data-sort='tir']")).to_have_attribute("data-order", "desc")
    shot(page, "clinic-ko")


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_phone_feed_leads_with_act_now(
    chromium: Browser, base: str, world: World, lang: str
) -> None:
    page = phone_feed(chromium, base, world, lang, 390)
    item = page.locator("#act-now .act-now[data-kind='glucose_urgent_low']")
    expect(item).to_be_visible(timeout=15_000)
    expect(item).to_contain_text("119")
    expect(item).to_contain_text("50 mg/dL")
    # The week: blood pressure as one value (138/86 mmHg), not a row per number.
    week = page.locator("#week p")
    expect(week.first).to_contain_text("mmHg", timeout=15_000)
    bp = [t for t in week.all_inner_texts() if "mmHg" in t]
    assert len(bp) == 1, bp
    assert __import__("re").search(r"\d{2,3}/\d{2,3} mmHg", bp[0]), bp
    assert "readings)" in bp[0] or "회)" in bp[0]
    shot(page, f"feed-act-now-{lang}")
    page.click("a[href='/feed/reports/agp']")
    expect(page.locator(".report.agp svg.agp-profile")).to_be_visible(timeout=15_000)
    shot(page, f"feed-agp-{lang}")
