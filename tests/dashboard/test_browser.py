"""The dashboard and the patient feed in a real browser (Debian's chromium, driven by
Playwright), against the real API and database. Screenshots go to artifacts/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import PASSWORD, LiveServer, World, build_world, make_app
from tests.browser import ARTIFACTS
from vigil.alerts import AlertService
from vigil.clinical import Explanation, Finding, Severity
from vigil.storage import rebuild_latest_readings


def email(world: World, who: str) -> str:
    return f"{who}.{world.a.id.hex[:6]}@clinic.example"


def sign_in(page: Page, base: str, address: str) -> None:
    page.goto(f"{base}/")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    page.click("#login button")


def test_clinician_sees_a_live_alert_acknowledges_it_and_opens_the_chart(
    db_url: str, browser: Browser
) -> None:
    world = build_world(db_url)
    patient = world.a.patient
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for h in range(24, 0, -1):
            conn.execute(
                "INSERT INTO readings VALUES (%s, %s, 'spo2', 93, '%%', 'ox-1', now())",
                (now - timedelta(hours=h), patient),
            )
        # A CGM showed LOW (stored at its 40 mg/dL bound) between two measured values.
        for h, value, censored in ((6, 70, None), (5, 40, "below"), (4, 75, None)):
            conn.execute(
                "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                " received_at, censored) VALUES (%s, %s, 'glucose', %s, 'mg/dL', 'cgm-1',"
                " now(), %s)",
                (now - timedelta(hours=h), patient, value, censored),
            )
        rebuild_latest_readings(conn)
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(make_app(db_url)) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        sign_in(page, base, email(world, "clinician"))
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
        expect(page.locator("#alerts")).to_contain_text("No open alerts")

        # The pipeline's path: the reading is stored, the finding goes through the alert
        # service, whose NOTIFY reaches the page over SSE (no reload).
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO readings VALUES (%s, %s, 'spo2', 85, '%%', 'ox-1', now())",
                (now, patient),
            )
            rebuild_latest_readings(conn)  # ingest keeps it; these readings bypassed ingest
            AlertService().apply(
                conn,
                [
                    Finding(
                        patient_id=patient,
                        cause="spo2_low",
                        metrics=("spo2",),
                        time=now,
                        detector="spo2_low",
                        severity=Severity.CRITICAL,
                        score=0.03,
                        explanation=Explanation(
                            sentence="SpO2 85%, below the patient's 88% threshold "
                            "(COPD target range 88-92%).",
                            value=85,
                            threshold=88,
                        ),
                    )
                ],
            )
        alerts = page.locator("#alerts")
        expect(alerts).to_contain_text("SpO2 85%, below the patient's 88% threshold")
        page.click("#alerts button[data-act=acknowledge]")
        expect(alerts).to_contain_text("acknowledged")
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

        page.click(f"#patients a[href='/patients/{patient}']")
        spo2 = page.locator("div.metric[data-metric=spo2]")
        expect(spo2).to_be_visible(timeout=15_000)
        expect(spo2.locator("circle.pt[data-min='85']")).to_have_count(1)
        expect(spo2.locator(".threshold")).to_have_count(1)  # the COPD 88 % line
        expect(spo2.locator(".alert-mark")).to_have_count(1)
        glucose = page.locator("div.metric[data-metric=glucose]")
        low = glucose.locator("text.censored[data-censored=below]")
        expect(low).to_have_attribute("data-count", "1")
        expect(low).to_contain_text("LOW: below the sensor's range")  # the mark and its title
        expect(glucose.locator("text.censored")).to_have_count(1)
        expect(page.locator("#alerts")).to_contain_text("acknowledged")
        page.screenshot(path=str(ARTIFACTS / "patient.png"), full_page=True)


def test_patient_sees_their_feed_and_cannot_open_another_patients_page(
    db_url: str, browser: Browser
) -> None:
    world = build_world(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for d in range(5):
            for metric, value, unit in (("bp_systolic", 128, "mm[Hg]"), ("heart_rate", 66, "/min")):
                conn.execute(
                    "INSERT INTO readings VALUES (%s, %s, %s, %s, %s, 'bp-1', now())",
                    (now - timedelta(days=d, minutes=1), world.a.patient, metric, value, unit),
                )
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(make_app(db_url)) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        sign_in(page, base, email(world, "patient"))
        expect(page).to_have_url(f"{base}/feed", timeout=15_000)
        expect(page.locator("#items")).to_contain_text("5 days in a row")  # stored coaching
        week = page.locator("#week")
        expect(week).to_contain_text("Your blood pressure (top number) averaged 128")
        # Against the default home target (under 135 mmHg) for a patient with no care plan.
        expect(week).to_contain_text("100 % of your readings were in your target range")
        expect(page.locator("#today")).to_contain_text("Heart rate")
        page.screenshot(path=str(ARTIFACTS / "feed.png"), full_page=True)

        page.goto(f"{base}/patients/{world.a.other_patient}")
        # A patient at a care-team page is told so and pointed to their own.
        expect(page.locator(".refused")).to_contain_text("This page is for the care team")
        expect(page.locator("#charts")).to_have_count(0)
