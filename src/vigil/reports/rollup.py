"""The clinic list's summaries from rollups: the same figures as the AGP's summary query
(:func:`vigil.reports.agp_repo.glucose_summary`) for every patient at once, without sorting
every reading of the period on each request.

A period splits into its whole UTC days, the whole UTC hours of its partial first and last
days, and its partial first and last hours. Days come from ``glucose_day_rollups`` (migration
0111) and hours from ``glucose_hour_rollups`` (migration 0160), computed and stored the first
time they are asked for, and again once a reading inserted, changed or deleted in that day or
hour has bumped its generation (a late reading, a backlog upload); the partial hours are read
live. Each segment holds the time-weighted seconds of all its readings but the last; the last
one's span is joined in the database, as the AGP's window gives it: up to the next reading of
the period (the first of the next segment with readings), capped, or for the period's last
reading back to the one before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from vigil.clinical.glycaemia import GLUCOSE_RANGES, REPORT_DAYS
from vigil.reports import rollup_repo
from vigil.reports.agp_repo import Conn
from vigil.reports.rollup_repo import Span

_DAY = timedelta(days=1)
_HOUR = timedelta(hours=1)
_ATTEMPTS = 3
"""Summaries computed at most this often per request: once, and again after storing the
rows found missing or stale (and once more if a concurrent write made one stale again)."""


def _floor(t: datetime, unit: timedelta) -> datetime:
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if unit == _DAY else t


def _ceil(t: datetime, unit: timedelta) -> datetime:
    f = _floor(t, unit)
    return f if f == t else f + unit


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each part of a period comes from."""

    days: tuple[date, date] | None
    """The whole UTC days (first, last: inclusive), from day rows."""
    hours: tuple[Span, ...]
    """At most two spans of whole UTC hours (in the partial first and last days), from hour
    rows."""
    live: tuple[Span, ...]
    """At most two spans shorter than an hour (or one shorter than two hours without a whole
    hour), read from the readings."""

    def day_keys(self) -> list[date]:
        if self.days is None:
            return []
        first, last = self.days
        return [first + _DAY * i for i in range((last - first).days + 1)]

    def hour_keys(self) -> list[datetime]:
        return [lo + _HOUR * i for lo, hi in self.hours for i in range((hi - lo) // _HOUR)]


def plan_period(start: datetime, end: datetime) -> Plan:
    """Split ``[start, end)`` into whole UTC days, whole UTC hours and the partial hours."""
    s, e = start.astimezone(UTC), end.astimezone(UTC)
    if e <= s:
        return Plan(None, (), ())
    sh, eh = _ceil(s, _HOUR), _floor(e, _HOUR)
    if sh >= eh:
        return Plan(None, (), ((s, e),))
    live = tuple(p for p in ((s, sh), (eh, e)) if p[0] < p[1])
    sd, ed = _ceil(sh, _DAY), _floor(eh, _DAY)
    if sd >= ed:
        return Plan(None, ((sh, eh),), live)
    hours = tuple(p for p in ((sh, sd), (ed, eh)) if p[0] < p[1])
    return Plan((sd.date(), (ed - _DAY).date()), hours, live)


def glucose_summaries(
    conn: Conn, *, patient_ids: list[UUID], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """As :func:`vigil.reports.agp_repo.glucose_summaries`: a row per patient with readings,
    ``patient_id``, ``readings``, ``mean``, ``sd``, ``covered_s`` and the seconds per range."""
    if not patient_ids or end <= start:
        return []
    plan = plan_period(start, end)
    days, hours = plan.day_keys(), plan.hour_keys()
    for attempt in range(_ATTEMPTS):
        rows, day_found, hour_found = rollup_repo.summaries(
            conn, patient_ids=patient_ids, days=plan.days, hours=plan.hours, live=plan.live,
            end=end,
        )  # fmt: skip
        days_current = _all_current(day_found, len(patient_ids) * len(days))
        hours_current = _all_current(hour_found, len(patient_ids) * len(hours))
        if (days_current and hours_current) or attempt + 1 == _ATTEMPTS:
            break
        if not days_current:
            _fill_days(conn, patient_ids, plan, days)
        if not hours_current:
            _fill_hours(conn, patient_ids, plan, hours)
    by_id = {r["patient_id"]: r for r in rows}
    return [{"patient_id": p} | _summary(by_id[p]) for p in patient_ids if p in by_id]


def _all_current(found: rollup_repo.Found, want: int) -> bool:
    """One row per key, each from its key's present generation (a row's is never above it,
    so equal sums mean equal generations)."""
    rows, row_generations, generations = found
    return rows == want and row_generations == generations


def _fill_days(conn: Conn, patient_ids: list[UUID], plan: Plan, days: list[date]) -> None:
    assert plan.days is not None
    first, last = plan.days
    have = rollup_repo.current_days(conn, patient_ids=patient_ids, first=first, last=last)
    missing = [(p, d) for p in patient_ids for d in days if (p, d) not in have]
    if missing:
        rollup_repo.fill_days(
            conn, patient_ids=[p for p, _ in missing], days=[d for _, d in missing]
        )


def _fill_hours(conn: Conn, patient_ids: list[UUID], plan: Plan, hours: list[datetime]) -> None:
    """Store the hour rows missing or stale; keep those of the default period's partial days
    (a day's hours, stored while it was today, serve again when it is the period's first)."""
    have = rollup_repo.current_hours(conn, patient_ids=patient_ids, spans=plan.hours)
    missing = [(p, h) for p in patient_ids for h in hours if (p, h) not in have]
    if missing:
        rollup_repo.fill_hours(
            conn, patient_ids=[p for p, _ in missing], hours=[h for _, h in missing],
            keep_from=min(hours[0], datetime.now(UTC) - _DAY * REPORT_DAYS) - _DAY,
        )  # fmt: skip


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """Count, mean, sample SD, worn seconds and seconds per range from a patient's sums."""
    n = int(row["readings"])
    total, squares = float(row["value_sum"]), float(row["value_sq_sum"])
    mean = total / n if n else None
    sd = None
    if n > 1 and mean is not None:
        sd = math.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1))
    seconds = {r.key: float(row[r.key]) for r in GLUCOSE_RANGES}
    return {"readings": n, "mean": mean, "sd": sd, "covered_s": float(row["covered_s"])} | seconds
