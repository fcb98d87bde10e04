"""The admin console in Debian's chromium against the real API and database: enrol a patient
(keyboard only), provision a device and see its credentials once, revoke it, read the audit
log with filters and paging; axe-core finds no serious or critical violation on any admin
page in Korean or English, light or dark, and no page is wider than a 360 px screen.

One server, one database and one browser for the module. Screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.api.conftest import PASSWORD, LiveServer, World, build_world, make_app
from tests.browser import ARGS, ARTIFACTS, CHROMIUM, axe_violations
from tests.conftest import new_database
from vigil.api.web.admin import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


@dataclass
class Console:
    base: str
    world: World
    browser: Browser

    def email(self, who: str) -> str:
        return f"{who}.{self.world.a.id.hex[:6]}@clinic.example"

    def page(self, who: str = "admin", width: int = 1280, **kw: Any) -> Page:
        page = self.browser.new_page(viewport={"width": width, "height": 800}, **kw)
        page.goto(f"{self.base}/admin/users")
        page.fill("#email", self.email(who))
        page.fill("#password", PASSWORD)
        page.press("#password", "Enter")
        expect(page.locator("#logout")).to_be_visible(timeout=15_000)
        return page


@pytest.fixture(scope="module")
def console(pg_server: Any) -> Iterator[Console]:
    with new_database(pg_server) as db_url:
        world = build_world(db_url)
        with (
            LiveServer(make_app(db_url)) as base,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            ARTIFACTS.mkdir(exist_ok=True)
            yield Console(base, world, browser)
            browser.close()


WIDEST = """[...document.querySelectorAll('body *')].filter((e) =>
  e.getBoundingClientRect().right > 361 && !e.parentElement.closest('.scroll'))
  .slice(0, 6).map((e) => e.tagName + '#' + e.id + ' '
    + Math.round(e.getBoundingClientRect().right))"""


def loaded(page: Page, section: str) -> None:
    """Wait until the page's data is on screen (a row, or the row saying there is none)."""
    expect(page.locator("#content")).to_be_visible(timeout=15_000)
    table = {"teams": "#members li"}.get(section, f"#{section} tr")
    expect(page.locator(table).first).to_be_attached(timeout=15_000)


def test_admin_enrols_a_patient_with_the_keyboard_only(console: Console) -> None:
    page = console.page()
    page.goto(f"{console.base}/admin/patients?lang=en")
    loaded(page, "patients")
    page.keyboard.press("Tab")
    expect(page.locator(".skip")).to_be_focused()
    page.keyboard.press("Enter")  # to <main>: then the six section links, then the form
    for _ in range(7):
        page.keyboard.press("Tab")
    expect(page.locator("#p-name")).to_be_focused()
    page.keyboard.type("Kim Minji")
    page.keyboard.press("Tab")  # the care team
    expect(page.locator("#p-team")).to_be_focused()
    page.keyboard.press("ArrowDown")  # the first team, after "None"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # skip hypertension (first) to type 1 diabetes
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # heart failure, then COPD
    expect(page.locator("#enrol-copd")).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    expect(page.locator("#enrol button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Enrolled Kim Minji.")
    row = page.locator("#patients tr", has_text="Kim Minji")
    expect(row).to_contain_text("COPD")
    expect(row).to_contain_text("Active")
    with console.world.conn() as conn:
        stored = conn.execute(
            "SELECT p.conditions, t.name FROM patients p JOIN care_team_patients c"
            " ON c.patient_id = p.id JOIN care_teams t ON t.id = c.team_id"
            " WHERE p.display_name = 'Kim Minji' AND p.tenant_id = %s",
            (console.world.a.id,),
        ).fetchall()
    assert stored == [(["copd"], "Respiratory")]
    page.screenshot(path=str(ARTIFACTS / "admin-patients.png"), full_page=True)

    # Edit: a condition added; then discharge, confirmed.
    page.click("#patients tr:has-text('Kim Minji') button[data-edit]")
    expect(page.locator("#edit-h")).to_be_focused()
    page.check("#edit-t2d")
    page.fill("#e-birth", "1951-04-09")
    page.fill("#e-record", "00123456")
    page.click("#edit button:not([type])")
    expect(row).to_contain_text("Type 2 diabetes, COPD")
    with console.world.conn() as conn:
        identity = conn.execute(
            "SELECT birth_date::text, record_number FROM patients"
            " WHERE display_name = 'Kim Minji' AND tenant_id = %s",
            (console.world.a.id,),
        ).fetchall()
    assert identity == [("1951-04-09", "00123456")]
    page.once("dialog", lambda d: d.accept())
    page.click("#patients tr:has-text('Kim Minji') button[data-discharge]")
    expect(row).to_contain_text("Discharged")
    page.close()


def test_admin_provisions_a_device_sees_its_password_once_and_revokes_it(
    console: Console,
) -> None:
    page = console.page()
    page.goto(f"{console.base}/admin/devices?lang=en")
    expect(page.locator("#content")).to_be_visible()
    patient = "Clinic A patient"
    page.select_option("#d-kind", "oximeter")
    page.fill("#d-id", "ox-console-1")
    page.select_option("#d-patient", label=patient)
    page.click("#provision button")
    creds = page.locator("#credentials")
    expect(creds).to_be_visible()
    expect(page.locator("#cred-h")).to_be_focused()
    password = page.locator("#cred-password").inner_text()
    assert len(password) >= 20
    expect(page.locator("#cred-topic")).to_have_text("vigil/v1/devices/ox-console-1/readings")
    # The uploader app's settings, shown once beside the MQTT ones (docs/nightscout.md).
    ns_secret = page.locator("#cred-ns-secret").inner_text()
    assert len(ns_secret) >= 12
    expect(page.locator("#cred-ns-url")).to_have_text(f"{console.base}/ns")
    expect(page.locator("#cred-ns-xdrip")).to_have_text(
        console.base.replace("://", f"://{ns_secret}@") + "/ns/api/v1/"
    )
    expect(page.locator("#cred-ns-token")).to_contain_text("vigil-")
    row = page.locator("#devices tr[data-device='ox-console-1']")
    expect(row).to_contain_text(patient)
    page.screenshot(path=str(ARTIFACTS / "admin-device-credentials.png"), full_page=True)
    page.click("#cred-done")
    expect(creds).to_be_hidden()
    expect(page.locator("#cred-password")).to_have_text("")
    page.reload()  # the password is nowhere to be read again
    expect(page.locator("#content")).to_be_visible()
    assert password not in page.content()
    assert ns_secret not in page.content()

    page.once("dialog", lambda d: d.accept())
    page.click("#devices button[data-revoke='ox-console-1']")
    expect(page.locator("#status")).to_have_text("ox-console-1 revoked.")
    expect(row).to_contain_text("Revoked")
    expect(row).not_to_contain_text(patient)
    with console.world.conn() as conn:
        revoked = conn.execute(
            "SELECT revoked_at IS NOT NULL FROM devices WHERE id = 'ox-console-1'"
        ).fetchone()
    assert revoked == (True,)
    page.set_viewport_size({"width": 1024, "height": 640})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-devices.png"))
    page.close()


def test_admin_reads_the_audit_log_with_filters_and_pages(console: Console) -> None:
    world = console.world
    nurse = world.headers("clinician")
    with httpx.Client(base_url=console.base, timeout=10) as client:
        for _ in range(55):
            assert client.get(f"/api/v1/patients/{world.a.patient}", headers=nurse).is_success
        refused = client.get(f"/api/v1/patients/{world.a.other_patient}", headers=nurse)
        assert refused.status_code == 404
    page = console.page(locale="ko-KR")
    page.goto(f"{console.base}/admin/audit?lang=ko")
    loaded(page, "audit")
    expect(page.locator("h1")).to_have_text("감사 로그")
    page.select_option("#a-actor", label=f"clinician ({console.email('clinician')})")
    page.select_option("#a-outcome", "denied")
    page.click("#audit-filter button:not([type])")
    rows = page.locator("#audit tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("거부")
    expect(rows.first).to_contain_text("get_patient")

    page.select_option("#a-outcome", "")
    page.fill("#a-action", "get_patient")
    page.click("#audit-filter button:not([type])")
    expect(page.locator("#status")).to_have_text("기록 50건을 표시합니다.")
    expect(rows).to_have_count(50)
    first_page = rows.first.get_attribute("data-audit")
    page.click("#older")
    expect(page.locator("#status")).to_have_text("기록 6건을 표시합니다.")
    expect(page.locator("#older")).to_be_disabled()
    ids = [int(str(r.get_attribute("data-audit"))) for r in rows.all()]
    assert max(ids) < int(str(first_page))
    page.click("#newest")
    expect(rows).to_have_count(50)
    page.set_viewport_size({"width": 1024, "height": 640})
    page.screenshot(path=str(ARTIFACTS / "admin-audit-ko.png"))
    page.close()


def test_every_admin_page_passes_axe_in_both_languages_and_fits_360_px(
    console: Console,
) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    for scheme in ("light", "dark"):
        page = console.page(width=360, color_scheme=scheme)
        for lang in ("en", "ko") if scheme == "light" else ("en",):
            for section in SECTIONS:
                page.goto(f"{console.base}/admin/{section}?lang={lang}")
                loaded(page, section)
                expect(page.locator("html")).to_have_attribute("lang", lang)
                if violations := axe_violations(page):
                    found[f"{section} {lang} {scheme}"] = violations
                width = page.evaluate("document.documentElement.scrollWidth")
                wide = page.evaluate(WIDEST)
                assert width <= 360, (section, lang, width, wide)
        page.close()
    assert found == {}


def test_a_nurse_is_shown_the_refusal_not_the_console(console: Console) -> None:
    page = console.page("clinician")
    page.goto(f"{console.base}/admin/devices?lang=ko")
    expect(page.locator("#refused")).to_be_visible()
    expect(page.locator("#content")).to_be_hidden()
    assert axe_violations(page) == []
    page.close()


def test_admin_adds_a_webhook_that_sends_fhir(console: Console) -> None:
    page = console.page()
    page.goto(f"{console.base}/admin/webhooks?lang=ko")
    expect(page.locator("#content")).to_be_visible()
    page.fill("#w-url", "https://93.184.215.14/emr-fhir")
    page.fill("#w-secret", "s3cret-key")
    page.select_option("#w-format", "fhir")
    page.click("#new-webhook button")
    row = page.locator("#webhooks tr", has_text="https://93.184.215.14/emr-fhir")
    expect(row).to_contain_text("FHIR R4 (DetectedIssue)")
    with console.world.conn() as conn:
        stored = conn.execute(
            "SELECT payload_format FROM webhooks WHERE url = 'https://93.184.215.14/emr-fhir'"
        ).fetchone()
    assert stored == ("fhir",)
    page.close()
