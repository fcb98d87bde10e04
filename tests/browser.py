"""Debian's chromium, driven by Playwright, for the browser tests (no browser download)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
"""Screenshots written by the browser tests."""
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

EXPECT_TIMEOUT_MS = 15_000
"""How long an ``expect`` waits for the page (Playwright's default is 5 s): the pages wait on the
API, which on a busy CI machine can take longer (triage over 60 patients did)."""
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

AXE = Path(__file__).resolve().parent.parent / ".vigil-node/node_modules/axe-core/axe.min.js"
"""axe-core, installed from npm by scripts/setup.sh (pinned there)."""
SERIOUS = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG 2.x A/AA violations on the page as it is now,
    each as ``{"id", "impact", "help", "targets"}``. axe is evaluated through the devtools
    protocol, so the pages' Content-Security-Policy (no inline scripts) stays on."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
          const r = await axe.run(document, { runOnly: { type: "tag",
            values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
          return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.map((n) => n.target.join(" ")) }));
        }"""
    )
    return [v for v in found if v["impact"] in SERIOUS]
