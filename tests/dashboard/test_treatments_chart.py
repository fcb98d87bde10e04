"""A pump's boluses and carbohydrate on the patient page, in Debian's chromium: on a strip
under the glucose chart, each marker with its value as text and as its accessible label
(4.50 U, 60 g) over 2 days, daily totals over 7; a patient without any has no strip. Korean and
English, no serious axe-core violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.api.conftest import World, build_world
from tests.browser import ARTIFACTS, axe_violations
from tests.conftest import new_database
from tests.dashboard.conftest import signed_in
from vigil.servers import EmbeddedPostgres
from vigil.storage import rebuild_latest_readings

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
BOLUSES = {20: 4.5, 0: 6.0}
"""Hours before now: units (the last in today, which the range cuts at now)."""
MEAL = (20, 60.0)
"""Hours before now, grams."""


@pytest.fixture(scope="module")
def world(pg_server: EmbeddedPostgres) -> Iterator[World]:
    with new_database(pg_server) as url:
        w = build_world(url)
        rows: list[tuple[Any, ...]] = []
        for patient in (w.a.patient, w.a.other_patient):
            rows += [(patient, NOW - timedelta(hours=h), "glucose", 110 + h, "mg/dL")
                     for h in range(1, 40)]  # fmt: skip
        rows += [(w.a.patient, NOW - timedelta(hours=h), "insulin", u, "[iU]")
                 for h, u in BOLUSES.items()]  # fmt: skip
        rows.append((w.a.patient, NOW - timedelta(hours=MEAL[0]), "carbs", MEAL[1], "g"))
        with w.conn() as conn:
            for i, (patient, t, metric, v, unit) in enumerate(rows):
                conn.execute(
                    "INSERT INTO readings (time, patient_id, metric, value, unit, device_id,"
                    " received_at) VALUES (%s, %s, %s, %s, %s, %s, now())",
                    (t, patient, metric, v, unit, "pump-1" if i % 2 else "cgm-1"),
                )
            rebuild_latest_readings(conn)
        yield w


def strip(page: Page, metric: str) -> list[dict[str, str | None]]:
    marks = page.locator(f".metric[data-metric=glucose] svg.treatments .treat.{metric}")
    return [
        {
            "value": m.get_attribute("data-value"),
            "count": m.get_attribute("data-count"),
            "text": m.locator(".val").text_content(),
            "label": m.get_attribute("aria-label"),
        }
        for m in marks.all()
    ]


@pytest.mark.parametrize(
    ("lang", "bolus", "carbs", "daily"),
    [
        ("en", "Insulin bolus", "Carbohydrate", "in total"),
        ("ko", "인슐린 볼루스", "탄수화물", "총"),
    ],
)
def test_boluses_and_carbs_beside_the_glucose_chart(
    chromium: Browser, base: str, world: World, lang: str, bolus: str, carbs: str, daily: str
) -> None:
    context = signed_in(chromium, base, world, "clinician")
    page = context.new_page()
    page.goto(f"{base}/patients/{world.a.patient}?lang={lang}")
    charts = page.locator("#charts")
    expect(charts).to_have_attribute("data-days", "7", timeout=15_000)
    expect(page.locator("svg.treatments")).to_have_count(1)
    # 7 days: a total per day, their sum the doses given.
    days = strip(page, "insulin")
    assert days, "no daily insulin total"
    assert sum(float(d["value"] or 0) for d in days) == pytest.approx(sum(BOLUSES.values()))
    assert sum(int(d["count"] or 0) for d in days) == len(BOLUSES)
    assert all(daily in (d["label"] or "") for d in days), days
    # Today's total is of the day so far (the range ends now), and says so; a whole day not.
    assert days[-1]["label"] == page.evaluate(
        "(label) => vigil.t('patient.day_partial', { label })",
        (days[-1]["label"] or "").split(";")[0],
    )
    assert all(";" not in (d["label"] or "") for d in days[:-1]), days
    assert [float(d["value"] or 0) for d in strip(page, "carbs")] == [MEAL[1]]
    assert page.locator(".metric:not([data-metric=glucose]) svg.treatments").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    glucose = page.locator(".metric[data-metric=glucose]")
    glucose.screenshot(path=str(ARTIFACTS / f"patient-treatments-7d-{lang}.png"))
    # 2 days: each bolus and the meal, its value written as clinicians write it.
    page.select_option("#range", "2")
    expect(charts).to_have_attribute("data-days", "2")
    doses = strip(page, "insulin")
    assert [d["text"] for d in doses] == ["4.50 U", "6.00 U"]  # as delivered: pumps step 0.05 U
    assert [d["count"] for d in doses] == [None, None]
    for d in doses:
        assert (d["label"] or "").startswith(f"{bolus} {d['text']}, "), d
    meal = strip(page, "carbs")
    assert [m["text"] for m in meal] == ["60 g"]
    assert (meal[0]["label"] or "").startswith(f"{carbs} 60 g, "), meal
    when = page.evaluate(
        "(iso) => vigil.dateTime(iso)", (NOW - timedelta(hours=MEAL[0])).isoformat()
    )
    assert (meal[0]["label"] or "").endswith(when), (meal, when)
    glucose.screenshot(path=str(ARTIFACTS / f"patient-treatments-2d-{lang}.png"))
    assert axe_violations(page) == []
    context.close()


def test_a_patient_without_boluses_or_carbs_has_no_strip(
    chromium: Browser, base: str, world: World
) -> None:
    context = signed_in(chromium, base, world, "admin")  # the other patient is in no team
    page = context.new_page()
    page.goto(f"{base}/patients/{world.a.other_patient}?lang=en")
    expect(page.locator(".metric[data-metric=glucose]")).to_be_visible(timeout=15_000)
    for days in ("7", "2"):
        page.select_option("#range", days)
        expect(page.locator("#charts")).to_have_attribute("data-days", days)
        assert page.locator("svg.treatments").count() == 0
        assert page.locator(".treat").count() == 0
    context.close()
