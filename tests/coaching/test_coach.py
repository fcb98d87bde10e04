"""The coaching rules on hand-made readings: no database, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.coaching import FeedItem, Point, Targets, coach, streak_days

NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)


def by_kind(items: list[FeedItem], kind: str) -> FeedItem:
    [item] = [i for i in items if i.kind == kind]
    return item


def bp(days: int, systolic: float, diastolic: float) -> list[Point]:
    out = []
    for d in range(days):
        t = NOW - timedelta(days=d, hours=2)
        out += [Point(t, "bp_systolic", systolic), Point(t, "bp_diastolic", diastolic)]
    return out


def test_home_bp_within_target_is_praised() -> None:
    item = by_kind(coach(bp(5, 128, 80), now=NOW), "bp_week")
    assert item.tone == "good"
    assert "averaged 128/80" in item.body
    assert "under 135/85" in item.body
    assert item.key == "bp_week:2026-W48"


def test_home_bp_above_target_is_a_gentle_note_against_the_care_plans_target() -> None:
    targets = Targets.from_care_plan({"bp_systolic": {"high": 130}, "bp_diastolic": {}})
    item = by_kind(coach(bp(5, 132, 80), now=NOW, targets=targets), "bp_week")
    assert item.tone == "note"
    assert "Your target is under 130/85" in item.body
    assert "crisis" not in item.body.lower()
    assert "hypertens" not in item.body.lower()


def test_too_few_bp_readings_make_no_summary() -> None:
    assert not [i for i in coach(bp(2, 150, 95), now=NOW) if i.kind == "bp_week"]


def cgm(values: list[float]) -> list[Point]:
    return [Point(NOW - timedelta(minutes=15 * k), "glucose", v) for k, v in enumerate(values)]


def test_time_in_range_against_the_70_percent_goal() -> None:
    good = by_kind(coach(cgm([120.0] * 80 + [200.0] * 20), now=NOW), "tir_week")
    assert good.tone == "good"
    assert "80% of the time" in good.body
    assert good.data == {
        "in_range": 0.8,
        "below": 0.0,
        "goal": 70,
        "low": 70.0,
        "high": 180.0,
        "limit": 0.04,
        "reached": True,
        "too_low": False,
    }

    low = by_kind(coach(cgm([120.0] * 90 + [60.0] * 10), now=NOW), "tir_week")
    assert low.tone == "note"
    assert "under 70 mg/dL 10% of the time" in low.body
    assert "hypoglyc" not in low.body.lower()


def test_finger_pricks_are_not_time_in_range() -> None:
    assert not [i for i in coach(cgm([120.0] * 10), now=NOW) if i.kind == "tir_week"]


def weights(last_week: float, this_week: float) -> list[Point]:
    return [
        Point(NOW - timedelta(days=d, hours=12), "body_weight", this_week if d < 7 else last_week)
        for d in range(14)
    ]


@pytest.mark.parametrize(("this_week", "tone"), [(81.3, "good"), (82.5, "note")])
def test_weight_trend_in_heart_failure(this_week: float, tone: str) -> None:
    items = coach(weights(81.0, this_week), now=NOW, conditions=frozenset({"heart_failure"}))
    assert by_kind(items, "weight_week").tone == tone
    assert not [i for i in coach(weights(81.0, this_week), now=NOW) if i.kind == "weight_week"]


def test_streak_counts_days_up_to_today_or_yesterday() -> None:
    pts = [Point(NOW - timedelta(days=d, hours=1), "spo2", 94) for d in range(4)]
    assert streak_days(pts, NOW) == 4
    assert by_kind(coach(pts, now=NOW), "streak").body.startswith("You have measured 4 days")
    # Nothing yet today: yesterday's streak still stands.
    assert streak_days(pts[1:], NOW) == 3
    assert streak_days(pts[2:], NOW) == 0


def test_a_missed_measurement_gets_one_gentle_reminder_per_day() -> None:
    pts = [Point(NOW - timedelta(days=3), "body_weight", 80.0)]
    pts += [Point(NOW - timedelta(hours=h), "spo2", 94) for h in (1, 20)]
    [item] = [i for i in coach(pts, now=NOW) if i.kind == "reminder"]
    assert item.key == "reminder:weight:2026-11-28"
    assert item.body == (
        "We have not had your weight since Wednesday 25 November. "
        "When you have a moment today, please weigh yourself."
    )
    # Blood pressure is two metrics but one measurement: one reminder.
    old = bp(1, 120, 80)
    assert [i.key for i in coach(old, now=NOW + timedelta(days=2)) if i.kind == "reminder"] == [
        "reminder:blood pressure:2026-11-30"
    ]


def test_readings_after_now_and_long_abandoned_metrics_are_ignored() -> None:
    pts = [
        Point(NOW + timedelta(hours=1), "spo2", 80),
        Point(NOW - timedelta(days=20), "glucose", 90),
    ]
    assert coach(pts, now=NOW) == []


def test_the_module_example_runs() -> None:
    import doctest
    import importlib

    module = importlib.import_module("vigil.coaching.coach")  # the package exports coach()
    assert doctest.testmod(module).failed == 0


def test_insulin_and_carbs_are_neither_reminded_nor_counted_as_measuring() -> None:
    """A pump's boluses and entered carbs are treatments: a feed that said "we have not had
    your insulin since ..." would be a dose advice no care team gave."""
    pts = [
        Point(NOW - timedelta(days=3), "insulin", 4.5),
        Point(NOW - timedelta(days=3), "carbs", 60),
    ]
    pts += [Point(NOW - timedelta(days=d, hours=1), "insulin", 2.0) for d in range(1, 4)]
    assert coach(pts, now=NOW) == []  # no reminder, and no streak from boluses alone
    pts += [Point(NOW - timedelta(hours=1), "glucose", 110)]
    assert [i.kind for i in coach(pts, now=NOW)] == []  # one glucose reading: nothing to say yet


def test_days_are_the_clinics_days_for_a_seoul_patient() -> None:
    """08:00 in Seoul is 23:00 UTC the day before: counted in UTC, a patient who measured
    Monday 08:00 and Tuesday 10:00 (KST) had no streak (UTC Sunday and Tuesday), and a reminder
    at 08:00 KST shared its key with the previous day's."""
    seoul = ZoneInfo("Asia/Seoul")
    monday = datetime(2026, 11, 23, 8, tzinfo=seoul)
    tuesday = datetime(2026, 11, 24, 10, tzinfo=seoul)
    pts = [Point(monday, "spo2", 95), Point(tuesday, "spo2", 96)]
    now = datetime(2026, 11, 24, 11, tzinfo=seoul)
    assert streak_days(pts, now, seoul) == 2
    assert streak_days(pts, now) == 1  # the UTC count this replaced
    [streak] = [i for i in coach(pts, now=now, zone=seoul) if i.kind == "streak"]
    assert streak.key == "streak:2026-11-24"
    # A weight last measured days ago: one reminder per Seoul day, keyed by that day.
    old = [Point(datetime(2026, 11, 20, 8, tzinfo=seoul), "body_weight", 70.0)]
    early = datetime(2026, 11, 24, 8, 30, tzinfo=seoul)  # 2026-11-23 23:30 UTC
    [reminder] = [i for i in coach(old, now=early, zone=seoul) if i.kind == "reminder"]
    assert reminder.key == "reminder:weight:2026-11-24"
    # A Monday morning in Seoul is still Sunday in UTC: the week's key is Seoul's week.
    monday_early = datetime(2026, 11, 30, 7, tzinfo=seoul)
    items = coach(
        [
            Point(monday_early - timedelta(hours=h), m, v)
            for h in (1, 25, 49)
            for m, v in (("bp_systolic", 128), ("bp_diastolic", 80))
        ],
        now=monday_early,
        zone=seoul,
    )
    assert [i.key for i in items if i.kind == "bp_week"] == ["bp_week:2026-W49"]
