"""The triage page in a real browser (Debian's chromium, driven by Playwright): a clinician
sees the patient who needs her first, the reasons in words, and pages through a group.
Writes artifacts/triage.png."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Route, expect

from tests.alerts.conftest import finding
from tests.api.conftest import PASSWORD, LiveServer, build_world, make_app
from tests.browser import ARTIFACTS
from tests.web.test_dashboard_api import enrol, readings
from vigil.alerts import AlertService
from vigil.clinical import Severity


def test_clinician_sees_who_needs_her_first_and_pages_through_a_group(
    db_url: str, browser: Browser
) -> None:
    world = build_world(db_url)
    now = datetime.now(UTC).replace(microsecond=0)
    with world.conn() as conn:
        rows = []
        for i in range(60):  # more than a page of patients with a high home BP
            pid = enrol(conn, world, f"Patient {i:02d}", ["hypertension"])
            for d in range(4):
                t = now - timedelta(days=d, hours=1)
                rows += [
                    (t, pid, "bp_systolic", 140.0 + i + d % 2 * 4 - 2),
                    (t, pid, "bp_diastolic", 80.0),
                ]
        readings(conn, rows)
        AlertService().apply(conn, [finding(world.a.patient, severity=Severity.CRITICAL)])
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(make_app(db_url)) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{base}/")
        page.fill("#email", f"clinician.{world.a.id.hex[:6]}@clinic.example")
        page.fill("#password", PASSWORD)
        page.click("#login button")
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)
        page.goto(f"{base}/triage")

        rows_ = page.locator("#rows tr")
        expect(rows_).to_have_count(1)  # opens on the critical group
        expect(rows_.first).to_contain_text("Clinic A patient")
        expect(page.locator("[data-count=out_of_target]")).to_have_text("60")

        page.click("button[data-group=out_of_target]")
        expect(page.locator("#page")).to_have_text("1-50 of 60")
        # Furthest from target first, with the reason in words.
        expect(rows_.first.locator(".reason")).to_have_text(
            "home BP average 199/80 mmHg (target <135/85 mmHg)"
        )
        expect(rows_.nth(1)).to_contain_text("Patient 58")
        expect(rows_.first.locator("svg.spark[data-metric=bp_systolic] polyline")).to_have_count(1)
        page.screenshot(path=str(ARTIFACTS / "triage.png"), full_page=True)
        page.click("#next")
        expect(page.locator("#page")).to_have_text("51-60 of 60")
        expect(rows_).to_have_count(10)

        # The same reason in Korean, from the API's code and values (not its English text).
        # The page's opening request (no group: "pick the most urgent") is held until the
        # group the clinician clicked meanwhile has been drawn; its late answer must not undo
        # the click (a busy CI machine answered them in that order).
        held: list[Route] = []

        def hold_the_opening_request(route: Route) -> None:
            if "group=" in route.request.url or held:
                route.continue_()
            else:
                held.append(route)

        page.route("**/api/v1/triage?*", hold_the_opening_request)
        with page.expect_request(lambda r: "/api/v1/triage?" in r.url):
            page.goto(f"{base}/triage?lang=ko")
        page.evaluate("1")  # one more round trip: the route handler has run by then
        assert len(held) == 1
        page.click("button[data-group=out_of_target]")
        reason = rows_.first.locator(".reason[data-why=bp_average]")
        expect(reason).to_have_text("가정 혈압 평균 199/80 mmHg (목표 <135/85 mmHg)")
        with page.expect_response("**/api/v1/triage?*") as opening:
            held[0].continue_()
        assert opening.value.ok
        page.unroute("**/api/v1/triage?*")
        expect(page.locator("button[data-group=out_of_target]")).to_have_attribute(
            "aria-pressed", "true"
        )
        expect(reason).to_have_text("가정 혈압 평균 199/80 mmHg (목표 <135/85 mmHg)")
        page.goto(f"{base}/triage?lang=en")
        page.locator("#rows a").first.click()
        expect(page).to_have_url(re.compile(r"/patients/[0-9a-f-]{36}$"))

        # A patient may not triage: the page says so and lists no one.
        patient = browser.new_page(viewport={"width": 390, "height": 844})
        patient.goto(f"{base}/")
        patient.fill("#email", f"patient.{world.a.id.hex[:6]}@clinic.example")
        patient.fill("#password", PASSWORD)
        patient.click("#login button")
        expect(patient).to_have_url(f"{base}/feed", timeout=15_000)
        patient.goto(f"{base}/triage")
        expect(patient.locator(".refused")).to_contain_text("This page is for the care team")
        expect(patient.locator("#rows tr")).to_have_count(0)
