"""The ambulatory glucose profile of one patient over a period (default: the last 14 days).

Time in ranges is weighted by time (each reading stands for the time to the next one, capped:
:data:`~vigil.clinical.glycaemia.READING_SPAN_CAP`), so a gap or a 1-minute sensor does not
skew it; a CGM's LOW and HIGH are stored at its bounds (40 and 400 mg/dL) and so fall in the
bottom and top ranges. Mean, SD (sample), CV and the percentiles are over readings, as the
consensus and its reference implementations compute them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from vigil.clinical.glycaemia import (
    ACTIVE_GOAL_PERCENT,
    CV_GOAL_PERCENT,
    GLUCOSE_RANGES,
    LEVEL_1_LOW,
    LEVEL_2_LOW,
    LOW_EPISODE_MIN,
    RANGE_GOALS,
    gmi_percent,
)
from vigil.reports import agp_repo
from vigil.reports.agp_repo import Conn
from vigil.reports.models import Agp, DayProfile, Goal, LowEpisode, ProfileRow

SLOTS = 96
"""15-minute rows of the 24-hour profile."""


@dataclass(frozen=True, slots=True)
class Summary:
    """The consensus metrics of one patient's period, from a summary row of the database."""

    readings: int
    shares: dict[str, float]
    mean: float | None
    sd: float | None
    cv: float | None
    active: float
    """% of the period the CGM was worn."""

    @classmethod
    def of(cls, row: Mapping[str, Any], period_s: float) -> Summary:
        covered = float(row["covered_s"] or 0.0)
        shares = {r.key: (float(row[r.key]) / covered if covered else 0.0) for r in GLUCOSE_RANGES}
        n = int(row["readings"])
        mean = float(row["mean"]) if n else None
        sd = float(row["sd"]) if row["sd"] is not None else None
        cv = 100.0 * sd / mean if sd is not None and mean else None
        active = 100.0 * covered / period_s if period_s > 0 else 0.0
        return cls(n, shares, mean, sd, cv, active)


def build_agp(
    conn: Conn, *, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> Agp:
    row = agp_repo.glucose_summary(conn, patient_id=patient_id, start=start, end=end)
    period_s = max((end - start).total_seconds(), 0.0)
    s = Summary.of(row, period_s)
    n, shares, mean, sd, cv, active = s.readings, s.shares, s.mean, s.sd, s.cv, s.active
    goals = [
        Goal(key=g.key, goal=g.share, at_least=g.at_least, value=sum(shares[k] for k in g.keys),
             met=g.met(shares) if n else None)
        for g in RANGE_GOALS
    ]  # fmt: skip
    goals.append(Goal(key="cv", goal=CV_GOAL_PERCENT, at_least=False, value=cv,
                      met=None if cv is None else cv <= CV_GOAL_PERCENT))  # fmt: skip
    goals.append(Goal(key="active", goal=ACTIVE_GOAL_PERCENT, at_least=True, value=active,
                      met=active >= ACTIVE_GOAL_PERCENT))  # fmt: skip
    return Agp(
        start=start,
        end=end,
        days=round(period_s / 86400, 3),
        time_zone=time_zone,
        active_percent=round(active, 2),
        readings=n,
        mean_mg_dl=mean,
        gmi_percent=gmi_percent(mean) if mean is not None else None,
        cv_percent=cv,
        sd_mg_dl=sd,
        time_in_ranges=shares,
        goals=goals,
        profile=_profile(conn, patient_id, start, end, time_zone),
        daily=_daily(conn, patient_id, start, end, time_zone),
        lows=[
            LowEpisode.model_validate(r)
            for r in agp_repo.glucose_lows(
                conn,
                patient_id=patient_id,
                start=start,
                end=end,
                limits=(LEVEL_1_LOW, LEVEL_2_LOW),
                min_length=LOW_EPISODE_MIN,
            )
        ],
    )


def _profile(
    conn: Conn, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> list[ProfileRow]:
    rows = agp_repo.glucose_profile(
        conn, patient_id=patient_id, start=start, end=end, time_zone=time_zone
    )
    by_minute = {r["minute"]: r["p"] for r in rows}
    out = []
    for minute in range(0, SLOTS * 15, 15):
        p = by_minute.get(minute) or [None] * 5
        out.append(ProfileRow(minute=minute, p5=p[0], p25=p[1], p50=p[2], p75=p[3], p95=p[4]))
    return out


def _daily(
    conn: Conn, patient_id: UUID, start: datetime, end: datetime, time_zone: str
) -> list[DayProfile]:
    days: dict[object, DayProfile] = {}
    for r in agp_repo.glucose_days(
        conn, patient_id=patient_id, start=start, end=end, time_zone=time_zone
    ):
        day = days.setdefault(r["day"], DayProfile(day=r["day"], readings=0, points=[]))
        day.readings += int(r["readings"])
        day.points.append((int(r["minute"]), round(float(r["value"]), 1)))
    return list(days.values())
