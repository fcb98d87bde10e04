"""Feed items from a patient's own readings: plain words, their targets, no jargon.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 11, 28, 20, tzinfo=UTC)
>>> points = [Point(now - timedelta(days=d, hours=1), m, v) for d in range(3)
...           for m, v in (("bp_systolic", 128), ("bp_diastolic", 80))]
>>> [(i.key, i.tone, i.data.get("systolic")) for i in coach(points, now=now)]
[('bp_week:2026-W48', 'good', 128), ('streak:2026-11-28', 'good', None)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from statistics import fmean

from vigil.coaching.models import FeedItem, Point, Targets, Tone

WEEK = timedelta(days=7)
MISSED_AFTER = timedelta(hours=36)
PLANNED_WINDOW = timedelta(days=14)
"""A metric measured in the last 14 days is one the patient measures as planned."""

WORDS = {
    "bp_systolic": "blood pressure",
    "bp_diastolic": "blood pressure",
    "glucose": "glucose",
    "body_weight": "weight",
    "spo2": "oxygen level",
    "heart_rate": "heart rate",
    "body_temperature": "temperature",
    "respiratory_rate": "breathing rate",
}
DOING = {
    "blood pressure": "take your blood pressure",
    "glucose": "check your glucose",
    "weight": "weigh yourself",
    "oxygen level": "check your oxygen level",
    "heart rate": "check your heart rate",
    "temperature": "take your temperature",
    "breathing rate": "check your breathing rate",
}


def coach(
    points: Iterable[Point],
    *,
    now: datetime,
    targets: Targets | None = None,
    conditions: frozenset[str] = frozenset(),
) -> list[FeedItem]:
    """Every item the patient's data supports at ``now``: the week's blood pressure, time in
    range and weight trend against their targets, their streak, and a reminder per measurement
    that is missing. Readings after ``now`` are ignored."""
    t = targets or Targets()
    pts = sorted((p for p in points if p.time <= now), key=lambda p: p.time)
    week = f"{now.isocalendar().year}-W{now.isocalendar().week:02d}"
    items = [
        *_blood_pressure(pts, now, t, week),
        *_time_in_range(pts, now, t, week),
        *_weight_trend(pts, now, t, week, conditions),
        *_streak(pts, now),
        *_reminders(pts, now),
    ]
    return items


def _values(pts: Sequence[Point], metric: str, since: datetime) -> list[float]:
    return [p.value for p in pts if p.metric == metric and p.time >= since]


def _blood_pressure(pts: Sequence[Point], now: datetime, t: Targets, week: str) -> list[FeedItem]:
    sys_v, dia_v = _values(pts, "bp_systolic", now - WEEK), _values(pts, "bp_diastolic", now - WEEK)
    if len(sys_v) < 3 or not dia_v:
        return []
    s, d = round(fmean(sys_v)), round(fmean(dia_v))
    target = f"{t.bp_systolic_high:.0f}/{t.bp_diastolic_high:.0f}"
    head = (
        f"Your home blood pressure averaged {s}/{d} over the last 7 days ({len(sys_v)} readings)."
    )
    tone: Tone
    if s < t.bp_systolic_high and d < t.bp_diastolic_high:
        body, tone = f"{head} That is within your target of under {target}. Well done.", "good"
    else:
        body = (
            f"{head} Your target is under {target}. Your care team looks at this with you; "
            "keep measuring at the same times each day so they see the full picture."
        )
        tone = "note"
    return [
        FeedItem(
            key=f"bp_week:{week}",
            kind="bp_week",
            time=now,
            title="Your blood pressure this week",
            body=body,
            tone=tone,
            data={"systolic": s, "diastolic": d, "readings": len(sys_v), "target": target},
        )
    ]


def _time_in_range(pts: Sequence[Point], now: datetime, t: Targets, week: str) -> list[FeedItem]:
    values = _values(pts, "glucose", now - WEEK)
    if len(values) < 24:  # a CGM writes every 5-15 min; a few finger-pricks say little
        return []
    inside = sum(t.glucose_low <= v <= t.glucose_high for v in values) / len(values)
    below = sum(v < t.glucose_low for v in values) / len(values)
    pct, goal = round(inside * 100), round(t.time_in_range_goal * 100)
    rng = f"{t.glucose_low:.0f}-{t.glucose_high:.0f} mg/dL"
    head = f"Your glucose was in your range ({rng}) {pct}% of the time over the last 7 days."
    tone: Tone
    if inside >= t.time_in_range_goal:
        body, tone = f"{head} Your goal is {goal}% or more: you reached it. Well done.", "good"
    else:
        body = f"{head} Your goal is {goal}% or more. Small steps count; your care team can help."
        tone = "note"
    if below >= t.time_below_limit:
        body += (
            f" It was under {t.glucose_low:.0f} mg/dL {round(below * 100)}% of the time, more "
            "than the 4% we aim for: keep a sugary snack close and mention it at your next call."
        )
        tone = "note"
    return [
        FeedItem(
            key=f"tir_week:{week}",
            kind="tir_week",
            time=now,
            title="Your glucose this week",
            body=body,
            tone=tone,
            data={"in_range": round(inside, 3), "below": round(below, 3), "goal": goal},
        )
    ]


def _weight_trend(
    pts: Sequence[Point], now: datetime, t: Targets, week: str, conditions: frozenset[str]
) -> list[FeedItem]:
    if "heart_failure" not in conditions:
        return []
    this = _values(pts, "body_weight", now - WEEK)
    last = [
        p.value for p in pts if p.metric == "body_weight" and now - 2 * WEEK <= p.time < now - WEEK
    ]
    if len(this) < 2 or not last:
        return []
    change = round(fmean(this) - fmean(last), 1)
    head = f"Your weight averaged {fmean(this):.1f} kg over the last 7 days"
    tone: Tone
    if change >= t.weight_rise_kg:
        body = (
            f"{head}, {change:.1f} kg more than the week before. With your heart, your care team "
            "watches this closely: please keep weighing each morning, and tell them if your "
            "ankles swell or you get short of breath."
        )
        tone = "note"
    elif change <= -t.weight_rise_kg:
        body, tone = f"{head}, {-change:.1f} kg less than the week before.", "neutral"
    else:
        body, tone = (
            f"{head}: steady, within {t.weight_rise_kg:.0f} kg of the week before. Good.",
            "good",
        )
    return [
        FeedItem(
            key=f"weight_week:{week}",
            kind="weight_week",
            time=now,
            title="Your weight this week",
            body=body,
            tone=tone,
            data={"change_kg": change, "readings": len(this)},
        )
    ]


def streak_days(pts: Sequence[Point], now: datetime) -> int:
    """Days in a row with a reading, ending today (or yesterday, if today has none yet)."""
    days = {p.time.date() for p in pts}
    day = now.date() if now.date() in days else now.date() - timedelta(days=1)
    n = 0
    while day in days:
        n, day = n + 1, day - timedelta(days=1)
    return n


def _streak(pts: Sequence[Point], now: datetime) -> list[FeedItem]:
    n = streak_days(pts, now)
    if n < 2:
        return []
    return [
        FeedItem(
            key=f"streak:{now.date().isoformat()}",
            kind="streak",
            time=now,
            title=f"{n} days in a row",
            body=f"You have measured {n} days in a row. Keep it going: it helps your care team.",
            tone="good",
            data={"days": n},
        )
    ]


def _reminders(pts: Sequence[Point], now: datetime) -> list[FeedItem]:
    latest: dict[str, datetime] = {}
    for p in pts:
        if p.time >= now - PLANNED_WINDOW:
            word = WORDS.get(p.metric, p.metric.replace("_", " "))
            latest[word] = max(latest.get(word, p.time), p.time)
    items = []
    for word, last in sorted(latest.items()):
        if now - last <= MISSED_AFTER:
            continue
        items.append(
            FeedItem(
                key=f"reminder:{word}:{now.date().isoformat()}",
                kind="reminder",
                time=now,
                title="A gentle reminder",
                body=(
                    f"We have not had your {word} since {last:%A %-d %B}. When you have a "
                    f"moment today, please {DOING.get(word, 'measure it')}."
                ),
                tone="neutral",
                data={"last": last.isoformat()},
            )
        )
    return items
