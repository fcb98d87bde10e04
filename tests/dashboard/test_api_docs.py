"""The API docs page renders in Debian's chromium with the network cut off: Swagger UI's script
and style come from Vigil itself (no CDN), under the app's own Content-Security-Policy."""

from __future__ import annotations

from playwright.sync_api import Browser, Route, expect

from tests.browser import ARTIFACTS


def test_the_docs_render_offline_from_vigils_own_assets(chromium: Browser, base: str) -> None:
    context = chromium.new_context()
    requested: list[str] = []
    refused: list[str] = []

    def offline(route: Route) -> None:
        url = route.request.url
        requested.append(url)
        if url.startswith(base) or url.startswith("data:"):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Vigil", timeout=20_000)
    expect(page.locator(".opblock-tag").first).to_be_visible()
    scripts = page.eval_on_selector_all("script[src]", "els => els.map((e) => e.src)")
    styles = page.eval_on_selector_all("link[rel=stylesheet]", "els => els.map((e) => e.href)")
    assert f"{base}/api/v1/docs/assets/swagger-ui-bundle.js" in scripts
    assert f"{base}/api/v1/docs/assets/swagger-ui.css" in styles
    assert all(u.startswith(base) for u in scripts + styles), (scripts, styles)
    assert refused == [], refused
    assert f"{base}/api/v1/openapi.json" in requested
    assert not [c for c in console if "Content Security Policy" in c], console
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    context.close()
