"""The nurse's workflows in Debian's chromium against the real API and database: find the most
urgent patient (triage, then the identity header), work an alert end to end from the patient
page (acknowledge, comment, snooze, resolve with an outcome and a note), and meet a new alert
live in the inbox (announced, counted in the tab title) of a patient enrolled after the page
loaded. axe-core on every page touched, in Korean and English; screenshots go to artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.alerts.conftest import finding
from tests.api.conftest import World, build_world
from tests.browser import ARTIFACTS, axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from vigil.alerts import AlertService
from vigil.api import repo as api_repo
from vigil.clinical.findings import Severity
from vigil.servers import EmbeddedPostgres
from vigil.storage import admin, rebuild_latest_readings


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        yield build_world(url)


@pytest.fixture(scope="module")
def urgent(world: World) -> UUID:
    """A second patient of the care team with an urgent low: the most urgent of the two."""
    a, now = world.a, datetime.now(UTC).replace(microsecond=0)
    with world.conn() as conn:
        kim = admin.create_patient(
            conn, tenant_id=a.id, display_name="Kim Minji", conditions=["t1d"]
        )
        api_repo.add_team_patient(conn, team_id=a.team, patient_id=kim, tenant_id=a.id)
        conn.execute(
            "UPDATE patients SET birth_date = '1961-04-09', record_number = 'MRN-0042'"
            " WHERE id = %s",
            (kim,),
        )
        creds = admin.provision_device(conn, tenant_id=a.id, kind="cgm", device_id="cgm-kim")
        admin.assign_device(
            conn, device_id=creds.device_id, patient_id=kim, valid_from=now - timedelta(days=3)
        )
        conn.execute(
            "INSERT INTO readings VALUES (%s, %s, 'glucose', 40, 'mg/dL', 'cgm-kim', now())",
            (now - timedelta(minutes=10), kim),
        )
        rebuild_latest_readings(conn)
    with psycopg.connect(world.db_url) as conn:
        AlertService().apply(conn, [finding(a.patient, severity=Severity.WARNING)])
        AlertService().apply(
            conn,
            [
                finding(
                    kim,
                    cause="hypoglycemia_urgent",
                    value=40,
                    severity=Severity.HIGH,
                    detector="rule.glucose",
                    metrics=("glucose",),
                )
            ],
        )
        conn.commit()
    return kim


def shot_and_axe(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    found = axe_violations(page)
    assert found == [], (page.url, found)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_nurse_finds_the_most_urgent_patient_and_who_they_are(
    chromium: Browser, base: str, world: World, urgent: UUID, lang: str
) -> None:
    context = signed_in(chromium, base, world, "clinician", height=900)
    page = context.new_page()
    page.goto(f"{base}/triage?lang={lang}")
    first = page.locator("#rows tr").first
    expect(first).to_have_attribute("data-patient", str(urgent), timeout=15_000)
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=15_000)
    shot_and_axe(page, f"workflow-triage-{lang}")
    first.locator("a").click()
    expect(page).to_have_url(f"{base}/patients/{urgent}")
    identity = page.locator("#identity")
    expect(page.locator("#name")).to_have_text("Kim Minji", timeout=15_000)
    expect(identity).to_contain_text("MRN-0042")
    expect(identity).to_contain_text("cgm-kim")
    expect(identity).to_contain_text("Respiratory: clinician")
    expect(identity).to_contain_text("만 " if lang == "ko" else "(age ")
    expect(page.locator("#alerts [data-alert]")).to_have_count(1)
    shot_and_axe(page, f"workflow-patient-{lang}")
    # The inbox names the patient of each alert, most urgent first.
    page.goto(f"{base}/?lang={lang}")
    cards = page.locator("#alerts [data-alert]")
    expect(cards).to_have_count(2, timeout=15_000)
    expect(cards.first.locator("a")).to_have_text("Kim Minji")
    expect(cards.nth(1).locator("a")).to_have_text("Clinic A patient")
    shot_and_axe(page, f"workflow-inbox-{lang}")
    context.close()


def test_the_nurse_works_an_alert_end_to_end_from_the_patient_page(
    chromium: Browser, base: str, world: World, urgent: UUID
) -> None:
    context = signed_in(chromium, base, world, "clinician", height=900)
    page = context.new_page()
    page.goto(f"{base}/patients/{urgent}?lang=en")
    card = page.locator("#alerts [data-alert]")
    expect(card).to_have_attribute("data-state", "open", timeout=15_000)
    alert_id = card.get_attribute("data-alert")
    card.locator("button[data-act=acknowledge]").click()
    expect(card).to_have_attribute("data-state", "acknowledged")
    card.locator("select[data-field=assignee]").select_option(label="clinician")
    expect(card).to_contain_text("assigned to clinician")
    card.locator("button[data-act=trail]").click()
    card.locator("textarea[data-field=comment]").fill("Called her: she took juice, re-measuring")
    card.locator("form.comment button").click()
    expect(card.locator(".trail")).to_contain_text("Called her: she took juice")
    card.locator("select[data-field=minutes]").select_option("30")
    card.locator("button[data-act=snooze]").click()
    expect(card).to_have_attribute("data-state", "snoozed")
    expect(card.locator(".badge.state")).to_contain_text("snoozed until")
    shot_and_axe(page, "workflow-alert-snoozed-en")
    card.locator("select[data-field=outcome]").select_option("false_reading")
    card.locator("input[data-field=note]").fill("Sensor compression low overnight")
    card.locator("form.resolve button").click()
    expect(page.locator("#alerts")).to_contain_text("No alerts.")
    page.goto(f"{base}/patients/{urgent}?lang=ko")
    expect(page.locator("#alerts")).to_contain_text("알림 없음.", timeout=15_000)
    shot_and_axe(page, "workflow-alert-resolved-ko")
    context.close()
    # What the trail holds, as another client reads it.
    events = httpx.get(
        f"{base}/api/v1/alerts/{alert_id}/events", headers=world.headers("clinician"), timeout=10
    ).json()
    kinds = [e["kind"] for e in events]
    for kind in ("acknowledged", "assigned", "commented", "snoozed", "resolved"):
        assert kind in kinds
    resolved = events[kinds.index("resolved")]
    assert resolved["note"] == "Sensor compression low overnight"
    alert = httpx.get(
        f"{base}/api/v1/alerts/{alert_id}", headers=world.headers("clinician"), timeout=10
    ).json()
    assert alert["outcome"] == "false_reading"


def test_a_new_patients_alert_arrives_live_announced_and_counted(
    chromium: Browser, base: str, world: World, urgent: UUID
) -> None:
    context = signed_in(chromium, base, world, "clinician", height=900)
    page = context.new_page()
    page.goto(f"{base}/?lang=en")
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=15_000)
    expect(page.locator("#shown")).not_to_be_empty()
    a = world.a
    with world.conn() as conn:  # enrolled after the page loaded
        new = admin.create_patient(conn, tenant_id=a.id, display_name="Lee Jun", conditions=[])
        api_repo.add_team_patient(conn, team_id=a.team, patient_id=new, tenant_id=a.id)
    with psycopg.connect(world.db_url) as conn:
        AlertService().apply(conn, [finding(new, severity=Severity.CRITICAL, value=82)])
        conn.commit()
    expect(page.locator("#alerts")).to_contain_text("Lee Jun")
    expect(page.locator("#announce")).to_contain_text("New critical alert: Lee Jun")
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    expect(page.locator("#new-alerts")).to_be_visible()
    shot_and_axe(page, "workflow-live-en")
    # Filters and search narrow the list; bulk acknowledge works the open ones.
    page.select_option("#f-severity", "critical")
    expect(page.locator("#alerts [data-alert]")).to_have_count(1)
    page.select_option("#f-severity", "")
    page.fill("#f-search", "lee")
    expect(page.locator("#alerts [data-alert]")).to_have_count(1)
    page.fill("#f-search", "")
    page.click("#select-all")
    page.click("#ack-selected")
    expect(page.locator("#alerts [data-state=open]")).to_have_count(0)
    page.click("#new-alerts")
    expect(page).not_to_have_title(re.compile(r"^\("))
    context.close()


def test_the_header_sign_out_reads_and_the_admin_link_is_for_admins(
    chromium: Browser, base: str, world: World
) -> None:
    for who, admin_link in (("clinician", False), ("admin", True)):
        context = signed_in(chromium, base, world, who, height=900)
        page = context.new_page()
        page.goto(f"{base}/triage?lang=en")
        out = page.locator("#logout")
        expect(out).to_be_visible(timeout=15_000)
        colour, header = page.evaluate(
            "() => [getComputedStyle(document.getElementById('logout')).color,"
            " getComputedStyle(document.querySelector('header.top')).backgroundColor]"
        )
        assert colour != header
        link = page.locator("a[href='/admin']")
        if admin_link:
            expect(link).to_be_visible()
        else:
            expect(link).to_be_hidden()
        context.close()
