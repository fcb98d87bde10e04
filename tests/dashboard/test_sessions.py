"""The dashboard's session in a real browser: no token any script can read, a patient link
opened in a new tab works, a forged change is refused, signing out ends it everywhere."""

from __future__ import annotations

import contextlib

from playwright.sync_api import Browser, expect
from playwright.sync_api import Error as PlaywrightError

from tests.api.conftest import LiveServer, build_world, make_app
from tests.dashboard.test_browser import email, sign_in


def test_the_session_is_a_cookie_no_script_reads(db_url: str, browser: Browser) -> None:
    world = build_world(db_url)
    with LiveServer(make_app(db_url)) as base:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        sign_in(page, base, email(world, "clinician"))
        expect(page.locator("#live")).to_have_text("live", timeout=15_000)

        # Nothing a script on the page could steal.
        assert "vigil_session" not in page.evaluate("document.cookie")
        storage = page.evaluate("JSON.stringify([{...sessionStorage}, {...localStorage}])")
        assert storage == "[{},{}]"
        [session] = [c for c in context.cookies() if c["name"] == "vigil_session"]
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Strict"

        # A patient link opened in a new tab: signed in there too.
        tab = context.new_page()
        tab.goto(f"{base}/patients/{world.a.patient}")
        expect(tab.locator("#name")).to_have_text("Clinic A patient", timeout=15_000)

        # A change without the CSRF header (what a forged request would be) is refused.
        status = page.evaluate(
            "fetch('/api/v1/auth/logout', {method: 'POST'}).then((r) => r.status)"
        )
        assert status == 403
        expect(page.locator("#who")).to_contain_text("clinician")

        # Signing out ends the session: cookie gone, the stream closed, other tabs out too.
        page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#live")).to_have_text("")
        assert [c for c in context.cookies() if c["name"].startswith("vigil_")] == []
        # The page sends a signed-out visitor to sign in, which may interrupt goto's own wait.
        with contextlib.suppress(PlaywrightError):
            tab.goto(f"{base}/patients/{world.a.patient}", wait_until="commit")
        expect(tab).to_have_url(f"{base}/", timeout=15_000)
        expect(tab.locator("#login")).to_be_visible()
        context.close()
