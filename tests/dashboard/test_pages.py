"""Every page in both languages and both colour schemes, in Debian's chromium: axe-core finds
no serious or critical WCAG violation, the language switch sticks, and a page opened in the
wrong role says so. One server and one browser for the module; screenshots go to artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World
from tests.browser import ARTIFACTS, axe_violations
from tests.dashboard.conftest import signed_in


def check(page: Page, url: str, ready: str, shot: str) -> None:
    page.goto(url)
    expect(page.locator(ready).first).to_be_visible(timeout=15_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    found = axe_violations(page)
    assert not found, (url, found)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_every_page_has_no_serious_accessibility_violation(
    chromium: Browser, base: str, world: World, lang: str, scheme: Any
) -> None:
    anonymous = chromium.new_context(color_scheme=scheme)
    check(anonymous.new_page(), f"{base}/?lang={lang}", "#login", f"signin-{lang}-{scheme}")
    anonymous.close()
    staff = signed_in(chromium, base, world, "clinician", color_scheme=scheme)
    page = staff.new_page()
    check(page, f"{base}/?lang={lang}", "#shown:not(:empty)", f"inbox-{lang}-{scheme}")
    check(page, f"{base}/triage?lang={lang}", "#rows tr", f"triage-{lang}-{scheme}")
    patient = f"{base}/patients/{world.a.patient}?lang={lang}"
    check(page, patient, "#plan-rows tr", f"patient-{lang}-{scheme}")
    staff.close()
    own = signed_in(chromium, base, world, "patient", color_scheme=scheme)
    check(own.new_page(), f"{base}/feed?lang={lang}", "#week", f"feed-{lang}-{scheme}")
    own.close()


def test_the_language_switch_sticks_and_korean_is_the_default(
    chromium: Browser, base: str, world: World
) -> None:
    # A Korean browser gets Korean; English, once chosen, sticks (the vigil_lang cookie).
    context = signed_in(chromium, base, world, "clinician", locale="ko-KR")
    page = context.new_page()
    page.goto(f"{base}/triage")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_have_text("먼저 봐야 할 환자")
    page.click("nav.langs a[lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#alerts-h")).to_have_text("Alerts")
    context.close()


def test_a_page_opened_in_the_wrong_role_says_where_to_go(
    chromium: Browser, base: str, world: World
) -> None:
    own = signed_in(chromium, base, world, "patient").new_page()
    own.goto(f"{base}/triage?lang=en")
    expect(own.locator(".refused")).to_contain_text("This page is for the care team")
    own.click(".refused a")
    expect(own).to_have_url(f"{base}/feed")
    staff = signed_in(chromium, base, world, "clinician").new_page()
    staff.goto(f"{base}/feed?lang=en")
    expect(staff.locator(".refused")).to_contain_text("This page is for patients")
    expect(staff.locator(".refused a")).to_have_attribute("href", "/")
