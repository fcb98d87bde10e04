"""The home blood-pressure summary: the protocol's averages (morning, evening, overall) of the
sittings after the first day, each sitting the mean of its readings, against the target.

>>> from datetime import datetime, timedelta, UTC
>>> t = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)  # 07:00 in Seoul
>>> s = sittings([(t, 140, 90), (t + timedelta(minutes=1), 136, 86),
...               (t + timedelta(hours=12), 130, 80)], "Asia/Seoul")
>>> [(x.morning, x.systolic, x.diastolic, x.readings) for x in s]
[(True, 138.0, 88.0, 2), (False, 130.0, 80.0, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from statistics import fmean
from uuid import UUID
from zoneinfo import ZoneInfo

from vigil.clinical import CarePlan, Metric
from vigil.clinical.careplan import HOME_BP_TARGET
from vigil.clinical.home_bp import HOME_BP_MIN_DAYS, SITTING_GAP, is_morning
from vigil.reports import report_repo
from vigil.reports.models import BpAverage, BpDay, HomeBp
from vigil.reports.report_repo import Conn


@dataclass(frozen=True, slots=True)
class Sitting:
    time: datetime
    day: date
    morning: bool
    systolic: float
    diastolic: float
    readings: int


def sittings(rows: Sequence[tuple[datetime, float, float]], time_zone: str) -> list[Sitting]:
    """Readings (time order) grouped into sittings: each within :data:`SITTING_GAP` of the
    one before it; a sitting is morning or evening by its first reading's local hour."""
    zone = ZoneInfo(time_zone)
    groups: list[list[tuple[datetime, float, float]]] = []
    for row in rows:
        if groups and row[0] - groups[-1][-1][0] <= SITTING_GAP:
            groups[-1].append(row)
        else:
            groups.append([row])
    out = []
    for g in groups:
        local = g[0][0].astimezone(zone)
        out.append(
            Sitting(g[0][0], local.date(), is_morning(local.hour),
                    fmean(r[1] for r in g), fmean(r[2] for r in g), len(g))
        )  # fmt: skip
    return out


def _average(chosen: list[Sitting]) -> BpAverage:
    if not chosen:
        return BpAverage(systolic=None, diastolic=None, sittings=0, readings=0)
    return BpAverage(
        systolic=round(fmean(s.systolic for s in chosen), 1),
        diastolic=round(fmean(s.diastolic for s in chosen), 1),
        sittings=len(chosen),
        readings=sum(s.readings for s in chosen),
    )


def build_home_bp(
    conn: Conn,
    *,
    patient_id: UUID,
    start: datetime,
    end: datetime,
    time_zone: str,
    plan: CarePlan,
) -> HomeBp:
    rows = report_repo.blood_pressure(conn, patient_id=patient_id, start=start, end=end)
    every = sittings(rows, time_zone)
    first_day = every[0].day if every else None
    kept = [s for s in every if s.day != first_day]
    days = sorted({s.day for s in kept})
    target_sys = plan.target(Metric.BP_SYSTOLIC).high or HOME_BP_TARGET[0]
    target_dia = plan.target(Metric.BP_DIASTOLIC).high or HOME_BP_TARGET[1]
    overall = _average(kept)
    at_target = None
    if overall.systolic is not None and overall.diastolic is not None:
        at_target = overall.systolic < target_sys and overall.diastolic < target_dia
    return HomeBp(
        start=start,
        end=end,
        time_zone=time_zone,
        dropped_day=first_day,
        days_used=len(days),
        enough_days=len(days) >= HOME_BP_MIN_DAYS,
        morning=_average([s for s in kept if s.morning]),
        evening=_average([s for s in kept if not s.morning]),
        overall=overall,
        target_systolic=target_sys,
        target_diastolic=target_dia,
        at_target=at_target,
        days=[
            BpDay(
                day=d,
                morning=_average([s for s in kept if s.day == d and s.morning]),
                evening=_average([s for s in kept if s.day == d and not s.morning]),
            )
            for d in days
        ],
    )
