"""Feed items from a patient's own readings: plain words, their targets, no jargon.

The coach decides what each card says (its kind, tone and ``data``); the words, in Korean and
English, are in :mod:`vigil.coaching.words`. The stored ``title`` and ``body`` are the English.

>>> from datetime import UTC, datetime, timedelta
>>> now = datetime(2026, 11, 28, 20, tzinfo=UTC)
>>> points = [Point(now - timedelta(days=d, hours=1), m, v) for d in range(3)
...           for m, v in (("bp_systolic", 128), ("bp_diastolic", 80))]
>>> [(i.key, i.tone, i.data.get("systolic")) for i in coach(points, now=now)]
[('bp_week:2026-W48', 'good', 128), ('streak:2026-11-28', 'good', None)]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from statistics import fmean
from typing import Any

from vigil.coaching.models import FeedItem, Point, Targets, Tone
from vigil.coaching.words import card_words, measure_name, measure_of
from vigil.core.metrics import NOT_VITALS

WEEK = timedelta(days=7)
MISSED_AFTER = timedelta(hours=36)
PLANNED_WINDOW = timedelta(days=14)
"""A metric measured in the last 14 days is one the patient measures as planned."""


def coach(
    points: Iterable[Point],
    *,
    now: datetime,
    targets: Targets | None = None,
    conditions: frozenset[str] = frozenset(),
    zone: tzinfo = UTC,
) -> list[FeedItem]:
    """Every item the patient's data supports at ``now``: the week's blood pressure, time in
    range and weight trend against their targets, their streak, and a reminder per measurement
    that is missing. Days (the streak, a day's reminder, the week's key) are the patient's days
    in ``zone``, the clinic's time zone. Readings after ``now`` are ignored, and so are
    treatments (a pump's insulin and carbs) and a wearable's steps
    (:data:`~vigil.core.metrics.NOT_VITALS`), which are not measurements."""
    t = targets or Targets()
    treatments = {m.value for m in NOT_VITALS}
    pts = sorted(
        (p for p in points if p.time <= now and p.metric not in treatments), key=lambda p: p.time
    )
    local = now.astimezone(zone)
    week = f"{local.isocalendar().year}-W{local.isocalendar().week:02d}"
    items = [
        *_blood_pressure(pts, now, t, week),
        *_time_in_range(pts, now, t, week),
        *_weight_trend(pts, now, t, week, conditions),
        *_streak(pts, now, zone),
        *_reminders(pts, now, zone),
    ]
    return items


def _card(key: str, kind: str, now: datetime, tone: Tone, data: dict[str, Any]) -> FeedItem:
    """A card with its stored words: English, days in UTC (readers word it again in theirs)."""
    words = card_words(kind, data, tone, "en")
    if words is None:  # the coach must give every card the data its words need
        raise ValueError(f"{kind} card without the data its words need: {sorted(data)}")
    title, body = words
    return FeedItem(key=key, kind=kind, time=now, title=title, body=body, tone=tone, data=data)


def _values(pts: Sequence[Point], metric: str, since: datetime) -> list[float]:
    return [p.value for p in pts if p.metric == metric and p.time >= since]


def _blood_pressure(pts: Sequence[Point], now: datetime, t: Targets, week: str) -> list[FeedItem]:
    sys_v, dia_v = _values(pts, "bp_systolic", now - WEEK), _values(pts, "bp_diastolic", now - WEEK)
    if len(sys_v) < 3 or not dia_v:
        return []
    s, d = round(fmean(sys_v)), round(fmean(dia_v))
    target = f"{t.bp_systolic_high:.0f}/{t.bp_diastolic_high:.0f}"
    tone: Tone = "good" if s < t.bp_systolic_high and d < t.bp_diastolic_high else "note"
    data = {"systolic": s, "diastolic": d, "readings": len(sys_v), "target": target}
    return [_card(f"bp_week:{week}", "bp_week", now, tone, data)]


def _time_in_range(pts: Sequence[Point], now: datetime, t: Targets, week: str) -> list[FeedItem]:
    values = _values(pts, "glucose", now - WEEK)
    if len(values) < 24:  # a CGM writes every 5-15 min; a few finger-pricks say little
        return []
    inside = sum(t.glucose_low <= v <= t.glucose_high for v in values) / len(values)
    below = sum(v < t.glucose_low for v in values) / len(values)
    reached, too_low = inside >= t.time_in_range_goal, below >= t.time_below_limit
    tone: Tone = "good" if reached and not too_low else "note"
    data = {
        "in_range": round(inside, 3),
        "below": round(below, 3),
        "goal": round(t.time_in_range_goal * 100),
        "low": t.glucose_low,
        "high": t.glucose_high,
        "limit": t.time_below_limit,
        "reached": reached,
        "too_low": too_low,
    }
    return [_card(f"tir_week:{week}", "tir_week", now, tone, data)]


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
    tone: Tone
    if change >= t.weight_rise_kg:
        trend, tone = "up", "note"
    elif change <= -t.weight_rise_kg:
        trend, tone = "down", "neutral"
    else:
        trend, tone = "steady", "good"
    data = {
        "change_kg": change,
        "readings": len(this),
        "avg_kg": round(fmean(this), 1),
        "rise_kg": t.weight_rise_kg,
        "trend": trend,
    }
    return [_card(f"weight_week:{week}", "weight_week", now, tone, data)]


def streak_days(pts: Sequence[Point], now: datetime, zone: tzinfo = UTC) -> int:
    """Days in a row with a reading, ending today (or yesterday, if today has none yet), days
    as the clock in ``zone`` counts them."""
    days = {p.time.astimezone(zone).date() for p in pts}
    today = now.astimezone(zone).date()
    day = today if today in days else today - timedelta(days=1)
    n = 0
    while day in days:
        n, day = n + 1, day - timedelta(days=1)
    return n


def _streak(pts: Sequence[Point], now: datetime, zone: tzinfo) -> list[FeedItem]:
    n = streak_days(pts, now, zone)
    if n < 2:
        return []
    today = now.astimezone(zone).date().isoformat()
    return [_card(f"streak:{today}", "streak", now, "good", {"days": n})]


def _reminders(pts: Sequence[Point], now: datetime, zone: tzinfo) -> list[FeedItem]:
    latest: dict[str, datetime] = {}
    for p in pts:
        if p.time >= now - PLANNED_WINDOW:
            measure = measure_of(p.metric)
            latest[measure] = max(latest.get(measure, p.time), p.time)
    items = []
    for measure, last in sorted(latest.items()):
        if now - last <= MISSED_AFTER:
            continue
        # Keyed by the English words, as the cards stored before the data named the measure.
        key = f"reminder:{measure_name(measure, 'en')}:{now.astimezone(zone).date().isoformat()}"
        data = {"last": last.isoformat(), "measure": measure}
        items.append(_card(key, "reminder", now, "neutral", data))
    return items
